#include "first_run.hpp"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QFormLayout>
#include <QGroupBox>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QTableWidget>
#include <QVBoxLayout>

namespace kitovu::gui {

namespace {

QString qt(std::string_view text) {
    return QString::fromUtf8(text.data(), static_cast<qsizetype>(text.size()));
}

// A field for one declared option, showing its default.
QWidget* field_for(const OptionSpec& spec) {
    const auto fallback = default_value(spec);
    QWidget* field = nullptr;
    switch (spec.type) {
    case OptionType::string:
        if (!spec.allowed.empty()) {
            auto* choice = new QComboBox;
            for (std::string_view value : spec.allowed)
                choice->addItem(qt(value));
            if (fallback)
                choice->setCurrentText(QString::fromStdString(std::get<std::string>(*fallback)));
            field = choice;
        } else {
            auto* line = new QLineEdit;
            if (fallback)
                line->setPlaceholderText(QString::fromStdString(std::get<std::string>(*fallback)));
            else if (!spec.example.empty())
                line->setPlaceholderText(qt(spec.example));
            field = line;
        }
        break;
    case OptionType::integer: {
        auto* number = new QSpinBox;
        number->setRange(spec.min < spec.max ? static_cast<int>(spec.min) : 0,
                         spec.min < spec.max
                             ? static_cast<int>(std::min<std::int64_t>(spec.max, INT32_MAX))
                             : INT32_MAX);
        if (fallback)
            number->setValue(static_cast<int>(std::get<std::int64_t>(*fallback)));
        field = number;
        break;
    }
    case OptionType::boolean: {
        auto* box = new QCheckBox;
        if (fallback)
            box->setChecked(std::get<bool>(*fallback));
        field = box;
        break;
    }
    }
    field->setToolTip(qt(spec.help));
    field->setAccessibleDescription(qt(spec.help));
    return field;
}

// The field's value, unless it says no more than the default (nothing is then written).
std::optional<OptionValue> value_of(const OptionSpec& spec, const QWidget* field) {
    const auto fallback = default_value(spec);
    std::optional<OptionValue> value;
    if (const auto* line = qobject_cast<const QLineEdit*>(field)) {
        if (!line->text().isEmpty())
            value = line->text().toStdString();
    } else if (const auto* choice = qobject_cast<const QComboBox*>(field)) {
        value = choice->currentText().toStdString();
    } else if (const auto* number = qobject_cast<const QSpinBox*>(field)) {
        value = std::int64_t{number->value()};
    } else if (const auto* box = qobject_cast<const QCheckBox*>(field)) {
        value = box->isChecked();
    }
    if (value && fallback && *value == *fallback)
        return std::nullopt;
    return value;
}

} // namespace

FirstRunAssistant::FirstRunAssistant(QWidget* parent)
    : QDialog(parent), plugin_(new QComboBox), root_dir_(new QLineEdit), name_(new QLineEdit),
      fields_(new QFormLayout), subjects_(new QTableWidget(3, 2)), verdict_(new QLabel),
      buttons_(new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel)) {
    setWindowTitle(tr("Set up kitovu"));
    auto* layout = new QVBoxLayout(this);
    auto* top = new QFormLayout;
    root_dir_->setText(QDir::home().filePath(QStringLiteral("kitovu")));
    top->addRow(tr("Keep the files &in:"), root_dir_);
    for (const auto* entry : PluginRegistry::entries())
        plugin_->addItem(QStringLiteral("%1 (%2)").arg(qt(entry->name), qt(entry->description)),
                         qt(entry->name));
    top->addRow(tr("&Where they come from:"), plugin_);
    name_->setText(QStringLiteral("uni"));
    top->addRow(tr("Connection &name:"), name_);
    layout->addLayout(top);
    auto* group = new QGroupBox(tr("Connection"));
    group->setLayout(fields_);
    layout->addWidget(group);
    subjects_->setHorizontalHeaderLabels({tr("Subject"), tr("Remote folder")});
    subjects_->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    layout->addWidget(new QLabel(tr("Subjects (one a row; empty rows are left out):")));
    layout->addWidget(subjects_);
    verdict_->setTextFormat(Qt::PlainText);
    verdict_->setWordWrap(true);
    layout->addWidget(verdict_);
    layout->addWidget(buttons_);

    connect(plugin_, &QComboBox::currentIndexChanged, this, &FirstRunAssistant::show_plugin_fields);
    connect(root_dir_, &QLineEdit::textChanged, this, &FirstRunAssistant::check);
    connect(name_, &QLineEdit::textChanged, this, &FirstRunAssistant::check);
    connect(subjects_, &QTableWidget::cellChanged, this, &FirstRunAssistant::check);
    connect(buttons_, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons_, &QDialogButtonBox::rejected, this, &QDialog::reject);
    const int smb = plugin_->findData(QStringLiteral("smb"));
    plugin_->setCurrentIndex(smb >= 0 ? smb : 0);
    show_plugin_fields();
}

void FirstRunAssistant::show_plugin_fields() {
    while (fields_->rowCount() > 0)
        fields_->removeRow(0);
    option_fields_.clear();
    auto entry = PluginRegistry::find(plugin_->currentData().toString().toStdString());
    if (!entry)
        return;
    for (const OptionSpec& spec : (*entry)->options) {
        QWidget* field = field_for(spec);
        option_fields_.emplace_back(&spec, field);
        fields_->addRow(qt(spec.name) + (spec.required ? QStringLiteral(" *") : QString{}), field);
        if (auto* line = qobject_cast<QLineEdit*>(field))
            connect(line, &QLineEdit::textChanged, this, &FirstRunAssistant::check);
        else if (auto* choice = qobject_cast<QComboBox*>(field))
            connect(choice, &QComboBox::currentIndexChanged, this, &FirstRunAssistant::check);
        else if (auto* number = qobject_cast<QSpinBox*>(field))
            connect(number, &QSpinBox::valueChanged, this, &FirstRunAssistant::check);
        else if (auto* box = qobject_cast<QCheckBox*>(field))
            connect(box, &QCheckBox::toggled, this, &FirstRunAssistant::check);
    }
    check();
}

QWidget* FirstRunAssistant::field(std::string_view name) const {
    for (const auto& [spec, field] : option_fields_)
        if (spec->name == name)
            return field;
    return nullptr;
}

AssistantAnswers FirstRunAssistant::answers() const {
    AssistantAnswers answers;
    answers.root_dir = root_dir_->text().toStdString();
    answers.connection = name_->text().toStdString();
    answers.plugin = plugin_->currentData().toString().toStdString();
    for (const auto& [spec, field] : option_fields_)
        if (auto value = value_of(*spec, field))
            answers.options.emplace_back(std::string{spec->name}, std::move(*value));
    for (int row = 0; row < subjects_->rowCount(); ++row) {
        const auto text = [&](int column) {
            const QTableWidgetItem* item = subjects_->item(row, column);
            return item != nullptr ? item->text().trimmed().toStdString() : std::string{};
        };
        if (!text(0).empty() || !text(1).empty())
            answers.subjects.push_back(AssistantSubject{text(0), text(1)});
    }
    return answers;
}

QString FirstRunAssistant::config() const {
    return QString::fromStdString(config_text(answers()));
}

QStringList FirstRunAssistant::problems() const {
    QStringList found;
    const std::string text = config().toStdString();
    if (auto settings = parse_settings(text, {}); !settings)
        for (const UsageError& error : settings.error())
            found << QString::fromStdString(error.to_string());
    return found;
}

void FirstRunAssistant::check() {
    const QStringList found = problems();
    verdict_->setText(found.isEmpty() ? tr("Ready.") : found.join(QLatin1Char('\n')));
    buttons_->button(QDialogButtonBox::Ok)->setEnabled(found.isEmpty());
}

} // namespace kitovu::gui

#include "first_run.hpp"

#include "error_words.hpp"
#include "option_words.hpp"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSaveFile>
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
    field->setAccessibleName(OptionWords::option(spec.name));
    return field;
}

// The field's value, unless it says no more than the default (nothing is then written).
std::optional<OptionValue> value_of(const OptionSpec& spec, const QWidget* field) {
    const auto fallback = default_value(spec);
    std::optional<OptionValue> value;
    if (const auto* line = qobject_cast<const QLineEdit*>(field)) {
        if (!line->text().trimmed().isEmpty())
            value = line->text().trimmed().toStdString();
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

QString cell(const QTableWidget* table, int row, int column) {
    const QTableWidgetItem* item = table->item(row, column);
    return item != nullptr ? item->text().trimmed() : QString{};
}

} // namespace

FirstRunAssistant::FirstRunAssistant(QWidget* parent, std::filesystem::path config_file,
                                     Keyring* keyring, RemoteCalls calls)
    : QDialog(parent), config_file_(std::move(config_file)), keyring_(keyring),
      calls_(std::move(calls)), plugin_(new QComboBox), root_dir_(new QLineEdit),
      name_(new QLineEdit), fields_(new QFormLayout), more_fields_(new QFormLayout),
      more_box_(new QWidget), more_(new QPushButton(tr("&More settings"))),
      test_(new QPushButton(tr("&Test connection"))), test_result_(new QLabel),
      subjects_(new QTableWidget(3, 2)), pick_(new QPushButton(tr("&Pick from the server…"))),
      verdict_(new QLabel),
      buttons_(new QDialogButtonBox(QDialogButtonBox::Save | QDialogButtonBox::Cancel)) {
    setWindowTitle(tr("Set up kitovu"));
    auto* layout = new QVBoxLayout(this);
    auto* top = new QFormLayout;
    root_dir_->setText(QDir::home().filePath(QStringLiteral("kitovu")));
    auto* choose = new QPushButton(tr("C&hoose…"));
    auto* root_row = new QHBoxLayout;
    root_row->addWidget(root_dir_, 1);
    root_row->addWidget(choose);
    auto* root_label = new QLabel(tr("Keep the files &in:"));
    root_label->setBuddy(root_dir_);
    top->addRow(root_label, root_row);
    for (const auto* entry : PluginRegistry::entries())
        plugin_->addItem(OptionWords::plugin(entry->name, entry->description), qt(entry->name));
    top->addRow(tr("&Where they come from:"), plugin_);
    layout->addLayout(top);

    auto* group = new QGroupBox(tr("Connection"));
    auto* group_layout = new QVBoxLayout(group);
    group_layout->addLayout(fields_);
    more_->setCheckable(true);
    more_->setFlat(true);
    group_layout->addWidget(more_, 0, Qt::AlignLeft);
    name_->setText(QStringLiteral("uni"));
    more_fields_->addRow(tr("Connection &name:"), name_);
    more_box_->setLayout(more_fields_);
    more_box_->setVisible(false);
    group_layout->addWidget(more_box_);
    auto* test_row = new QHBoxLayout;
    test_row->addWidget(test_);
    test_result_->setTextFormat(Qt::PlainText);
    test_result_->setWordWrap(true);
    test_row->addWidget(test_result_, 1);
    group_layout->addLayout(test_row);
    layout->addWidget(group);

    subjects_->setHorizontalHeaderLabels({tr("Subject"), tr("Remote folder")});
    subjects_->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    auto* subjects_label = new QLabel(tr("&Subjects (one a row; empty rows are left out):"));
    subjects_label->setBuddy(subjects_);
    auto* subjects_row = new QHBoxLayout;
    subjects_row->addWidget(subjects_label, 1);
    subjects_row->addWidget(pick_);
    layout->addLayout(subjects_row);
    layout->addWidget(subjects_);
    verdict_->setTextFormat(Qt::PlainText);
    verdict_->setWordWrap(true);
    layout->addWidget(verdict_);
    layout->addWidget(buttons_);
    test_->setVisible(static_cast<bool>(calls_));
    pick_->setVisible(static_cast<bool>(calls_));
    resize(640, 620);

    connect(plugin_, &QComboBox::currentIndexChanged, this, &FirstRunAssistant::show_plugin_fields);
    connect(root_dir_, &QLineEdit::textChanged, this, &FirstRunAssistant::check);
    connect(name_, &QLineEdit::textChanged, this, &FirstRunAssistant::check);
    connect(subjects_, &QTableWidget::cellChanged, this, &FirstRunAssistant::check);
    connect(more_, &QPushButton::toggled, more_box_, &QWidget::setVisible);
    connect(choose, &QPushButton::clicked, this, [this] {
        const QString folder =
            QFileDialog::getExistingDirectory(this, tr("Keep the files in"), root_dir_->text());
        if (!folder.isEmpty())
            root_dir_->setText(folder);
    });
    connect(test_, &QPushButton::clicked, this, &FirstRunAssistant::test_connection);
    connect(pick_, &QPushButton::clicked, this, &FirstRunAssistant::pick_folders);
    connect(buttons_, &QDialogButtonBox::accepted, this, &FirstRunAssistant::save_and_close);
    connect(buttons_, &QDialogButtonBox::rejected, this, &QDialog::reject);
    const int smb = plugin_->findData(QStringLiteral("smb"));
    plugin_->setCurrentIndex(smb >= 0 ? smb : 0);
    show_plugin_fields();
}

// The plugin's secret command (password-command, token-command) filled in under More settings.
bool FirstRunAssistant::secret_from_command() const {
    for (const auto& [spec, field] : option_fields_)
        if (!secret_command_.empty() && spec->name == secret_command_)
            if (const auto* line = qobject_cast<const QLineEdit*>(field);
                line != nullptr && !line->text().trimmed().isEmpty())
                return true;
    return false;
}

QPushButton* FirstRunAssistant::save_button() const {
    return buttons_->button(QDialogButtonBox::Save);
}

void FirstRunAssistant::show_plugin_fields() {
    while (fields_->rowCount() > 0)
        fields_->removeRow(0);
    while (more_fields_->rowCount() > 1) // the connection's name stays
        more_fields_->removeRow(1);
    option_fields_.clear();
    secret_ = nullptr;
    secret_hint_ = nullptr;
    secret_what_.clear();
    secret_command_.clear();
    test_result_->clear();
    auto entry = PluginRegistry::find(plugin_->currentData().toString().toStdString());
    if (!entry)
        return;
    const auto& secret = (*entry)->secret;
    for (const OptionSpec& spec : (*entry)->options) {
        QWidget* field = field_for(spec);
        option_fields_.emplace_back(&spec, field);
        const QString label = OptionWords::option(spec.name) + QLatin1Char(':');
        if (OptionWords::first_shown(spec.name, spec.required))
            fields_->addRow(label, field);
        else
            more_fields_->addRow(label, field);
        if (auto* line = qobject_cast<QLineEdit*>(field))
            connect(line, &QLineEdit::textChanged, this, &FirstRunAssistant::check);
        else if (auto* choice = qobject_cast<QComboBox*>(field))
            connect(choice, &QComboBox::currentIndexChanged, this, &FirstRunAssistant::check);
        else if (auto* number = qobject_cast<QSpinBox*>(field))
            connect(number, &QSpinBox::valueChanged, this, &FirstRunAssistant::check);
        else if (auto* box = qobject_cast<QCheckBox*>(field))
            connect(box, &QCheckBox::toggled, this, &FirstRunAssistant::check);
    }
    if (secret) {
        secret_what_ = std::string{secret->what};
        if (secret->command_option != nullptr)
            secret_command_ = std::string{secret->command_name()};
        secret_ = new QLineEdit;
        secret_->setEchoMode(QLineEdit::Password);
        secret_->setInputMethodHints(Qt::ImhHiddenText | Qt::ImhSensitiveData |
                                     Qt::ImhNoPredictiveText);
        secret_->setPlaceholderText(tr("kept in the desktop keyring, never in the file"));
        fields_->addRow(OptionWords::secret(secret->what) + QLatin1Char(':'), secret_);
        if (const QString where = OptionWords::secret_hint((*entry)->name); !where.isEmpty()) {
            secret_hint_ = new QLabel(where);
            secret_hint_->setTextFormat(Qt::PlainText);
            secret_hint_->setWordWrap(true);
            fields_->addRow(QString{}, secret_hint_);
        }
        connect(secret_, &QLineEdit::textChanged, this, [this] { test_result_->clear(); });
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
    answers.root_dir = root_dir_->text().trimmed().toStdString();
    answers.connection = name_->text().trimmed().toStdString();
    answers.plugin = plugin_->currentData().toString().toStdString();
    for (const auto& [spec, field] : option_fields_)
        if (auto value = value_of(*spec, field))
            answers.options.emplace_back(std::string{spec->name}, std::move(*value));
    for (int row = 0; row < subjects_->rowCount(); ++row) {
        const QString name = cell(subjects_, row, 0);
        const QString remote = cell(subjects_, row, 1);
        if (!name.isEmpty() || !remote.isEmpty())
            answers.subjects.push_back(AssistantSubject{name.toStdString(), remote.toStdString()});
    }
    return answers;
}

QString FirstRunAssistant::config() const {
    return QString::fromStdString(config_text(answers()));
}

std::optional<Settings> FirstRunAssistant::settings() const {
    auto settings = parse_settings(config().toStdString(), {});
    if (!settings)
        return std::nullopt;
    return std::move(*settings);
}

// What the student fills in is named by its field; the rest of the library's verdict follows,
// with the config's keys put into the fields' words and no line numbers (there is no file).
QStringList FirstRunAssistant::problems() const {
    QStringList found;
    if (root_dir_->text().trimmed().isEmpty())
        found << tr("Choose the folder to keep the files in.");
    if (name_->text().trimmed().isEmpty())
        found << tr("Give the connection a name (under More settings).");
    for (const auto& [spec, field] : option_fields_)
        if (const auto* line = qobject_cast<const QLineEdit*>(field);
            line != nullptr && spec->required && line->text().trimmed().isEmpty())
            found << tr("Fill in “%1”.").arg(OptionWords::option(spec->name));
    for (int row = 0; row < subjects_->rowCount(); ++row)
        if (cell(subjects_, row, 0).isEmpty() != cell(subjects_, row, 1).isEmpty())
            found << (cell(subjects_, row, 0).isEmpty()
                          ? tr("The subject in row %1 needs a name.").arg(row + 1)
                          : tr("The subject in row %1 needs a remote folder.").arg(row + 1));
    if (!found.isEmpty())
        return found;
    if (auto settings = parse_settings(config().toStdString(), {}); !settings)
        for (const UsageError& error : settings.error())
            found << OptionWords::problem(error.message);
    return found;
}

void FirstRunAssistant::check() {
    const QStringList found = problems();
    verdict_->setText(found.isEmpty() ? tr("Ready to save.") : found.join(QLatin1Char('\n')));
    save_button()->setEnabled(found.isEmpty());
    test_->setEnabled(found.isEmpty() && !work_.busy());
    pick_->setEnabled(found.isEmpty());
}

void FirstRunAssistant::test_connection() {
    auto now = settings();
    if (!now || !calls_)
        return;
    if (secret_ != nullptr && secret_->text().isEmpty() && !secret_from_command()) {
        test_result_->setText(secret_what_ == "token" ? tr("Type the token first.")
                                                      : tr("Type the password first."));
        Q_EMIT tested();
        return;
    }
    test_->setEnabled(false);
    test_result_->setText(tr("Connecting…"));
    work_.run([test = calls_.test, settings = std::move(*now), connection = answers().connection,
               secret = secret_ ? secret_->text().toStdString() : std::string{}](
                  std::stop_token stop) { return test(settings, connection, secret, stop); },
              [this](expected<void, UsageError> result) {
                  test_result_->setText(result ? tr("Connected: the server accepted the login.")
                                               : error_words(result.error()));
                  check();
                  Q_EMIT tested();
              });
}

void FirstRunAssistant::pick_folders() {
    auto now = settings();
    if (!now || !calls_)
        return;
    const bool courses = answers().plugin == "moodle";
    FolderBrowser browser{{calls_.lister(std::move(*now), answers().connection,
                                         secret_ ? secret_->text().toStdString() : std::string{})},
                          courses ? tr("Choose your courses") : tr("Choose the subjects' folders"),
                          true,
                          this};
    if (browser.exec() != QDialog::Accepted)
        return;
    for (const PickedFolder& folder : browser.picked()) {
        int row = 0;
        while (row < subjects_->rowCount() &&
               (!cell(subjects_, row, 0).isEmpty() || !cell(subjects_, row, 1).isEmpty()))
            ++row;
        if (row == subjects_->rowCount())
            subjects_->insertRow(row);
        QString name = QString::fromStdString(folder.title);
        name.replace(QLatin1Char('/'), QLatin1Char('-')); // a subject's name is a folder's
        subjects_->setItem(row, 0, new QTableWidgetItem(name.trimmed()));
        subjects_->setItem(row, 1, new QTableWidgetItem(QString::fromStdString(folder.path)));
    }
}

// Writes the config (atomically) and keeps the typed secret in the keyring, never in the file.
void FirstRunAssistant::save_and_close() {
    if (!problems().isEmpty())
        return;
    if (config_file_.empty()) {
        accept();
        return;
    }
    const QByteArray bytes = config().toUtf8();
    std::error_code ec;
    std::filesystem::create_directories(config_file_.parent_path(), ec);
    QSaveFile out{QString::fromStdString(config_file_.string())};
    if (!out.open(QIODevice::WriteOnly) || out.write(bytes) != bytes.size() || !out.commit()) {
        verdict_->setText(
            tr("Cannot save %1: %2")
                .arg(QString::fromStdString(config_file_.string()), out.errorString()));
        return;
    }
    saved_note_.clear();
    const QString secret = secret_ ? secret_->text() : QString{};
    auto now = settings();
    auto entry = PluginRegistry::find(answers().plugin);
    if (!secret.isEmpty() && now && entry && (*entry)->secret && !now->connections.empty()) {
        const auto item =
            keyring_item(answers().plugin, now->connections.front().options, *(*entry)->secret);
        const KeyringAnswer kept = keyring_ && item
                                       ? keyring_->store(*item, secret.toStdString())
                                       : KeyringAnswer{KeyringAnswer::Status::unavailable, {}, {}};
        const bool token = secret_what_ == "token";
        saved_note_ = kept.status == KeyringAnswer::Status::done
                          ? (token ? tr("The token is kept in the desktop keyring.")
                                   : tr("The password is kept in the desktop keyring."))
                          : (token ? tr("The token could not be kept in the desktop keyring; "
                                        "kitovu asks for it when it syncs.")
                                   : tr("The password could not be kept in the desktop keyring; "
                                        "kitovu asks for it when it syncs."));
    }
    if (secret_ != nullptr)
        secret_->clear();
    accept();
}

} // namespace kitovu::gui

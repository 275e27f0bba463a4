// The assistant's words for what the config calls by keys: a plugin ("a Windows share"), an
// option ("Server" for `hostname`), the secret ("Password"), and a problem with the key names
// put into those words. Keys without words of their own keep their name.
#pragma once

#include <QCoreApplication>
#include <QString>

#include <string_view>

namespace kitovu::gui {

class OptionWords {
    Q_DECLARE_TR_FUNCTIONS(kitovu::gui::OptionWords)
  public:
    static QString plugin(std::string_view name, std::string_view description);
    static QString option(std::string_view name);
    static QString secret(std::string_view what); // "password", "token"
    // Where a student finds the secret of `plugin`'s connections; empty: nothing to say.
    static QString secret_hint(std::string_view plugin);
    // A library message about the config, its 'key's named as the fields are.
    static QString problem(std::string_view message);
    // Shown without asking for "More settings": options a student must fill in.
    static bool first_shown(std::string_view name, bool required);
};

} // namespace kitovu::gui

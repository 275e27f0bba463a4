// The plugin registry: plugins register themselves by name where they are defined, in one line:
//     inline const kitovu::PluginRegistry::Add<MyPlugin> my_plugin{"name", "one-line description"};
// The engine then creates as many instances of a plugin as it has workers.
#pragma once

#include "kitovu/config/options.hpp"
#include "kitovu/error.hpp"
#include "kitovu/plugin/browse_entry.hpp"
#include "kitovu/plugin/plugin.hpp"

#include <algorithm>
#include <concepts>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kitovu {

// Modelled on LLVM's Registry: each registration object is its own list node, and the list
// head is a constant-initialised function-local static, so registering needs no heap, works
// from any static initialiser in any order, and a header-defined inline registration object
// registers once however many translation units include it.
//
// Pitfall for plugin authors: a registration that lives in an object file of a *static*
// library, referenced by nothing else, is dropped by the linker and the plugin is never seen.
// Define registrations in a header (inline variable) or in an object linked directly.
template <class Plugin>
class Registry {
  public:
    struct Entry {
        std::string_view name;
        std::string_view description;
        std::span<const OptionSpec> options; // the plugin's declared schema
        std::unique_ptr<Plugin> (*create)();
        std::optional<SecretSpec> secret; // how its password or token is found, if it needs one
        // One level of a folder of a configured, connected instance (plugin/browse.hpp): the
        // plugin's browse member, else browse_by_listing.
        expected<std::vector<BrowseEntry>, UsageError> (*browse)(Plugin&, std::string_view dir);
    };

  private:
    struct Node {
        Entry entry;
        Node* next;
    };

  public:
    // Registers V under `name` for as long as this object lives. V needs a default constructor
    // and `static std::span<const OptionSpec> schema()`; a plugin that needs a password or
    // token also declares `static SecretSpec secret()`, and one that can show a folder's entries
    // more cheaply than its list() can (browse_by_listing) has a member
    // `expected<std::vector<BrowseEntry>, UsageError> browse(std::string_view dir)`.
    template <class V>
    class Add {
      public:
        Add(std::string_view name, std::string_view description) noexcept
            : node_{Entry{name, description, V::schema(),
                          []() -> std::unique_ptr<Plugin> { return std::make_unique<V>(); },
                          secret_of<V>(), browse_of<V>()},
                    nullptr} {
            link(node_);
        }
        ~Add() { unlink(node_); }
        Add(const Add&) = delete;
        Add& operator=(const Add&) = delete;

      private:
        Node node_;
    };

    // The entry registered under `name`. Unknown names and names registered twice are errors
    // that say what is there.
    static expected<const Entry*, UsageError> find(std::string_view name) {
        const Entry* found = nullptr;
        for (const Node* node = head().first; node != nullptr; node = node->next) {
            if (node->entry.name != name)
                continue;
            if (found != nullptr)
                return fail(ErrorKind::internal, "plugin '" + std::string{name} +
                                                     "' is registered twice ('" +
                                                     std::string{found->description} + "' and '" +
                                                     std::string{node->entry.description} + "')");
            found = &node->entry;
        }
        if (found != nullptr)
            return found;
        return fail(ErrorKind::not_found, "unknown plugin '" + std::string{name} +
                                              "' (known plugins: " + known_names() + ")");
    }

    // A new, unconfigured instance of the plugin registered under `name`.
    static expected<std::unique_ptr<Plugin>, UsageError> create(std::string_view name) {
        auto entry = find(name);
        if (!entry)
            return fail(entry.error());
        return (*entry)->create();
    }

    // Every registration, sorted by name (registration order depends on link order).
    static std::vector<const Entry*> entries() {
        std::vector<const Entry*> all;
        for (const Node* node = head().first; node != nullptr; node = node->next)
            all.push_back(&node->entry);
        std::ranges::stable_sort(all, {}, &Entry::name);
        return all;
    }

    // One error per name registered more than once; empty when the registry is sound.
    static std::vector<UsageError> duplicates() {
        std::vector<UsageError> errors;
        const auto all = entries();
        for (std::size_t i = 1; i < all.size(); ++i)
            if (all[i]->name == all[i - 1]->name && (i == 1 || all[i - 2]->name != all[i]->name))
                errors.push_back(find(all[i]->name).error());
        return errors;
    }

    // "a, b, c", or "none" when nothing is registered.
    static std::string known_names() {
        std::string names;
        std::string_view previous;
        for (const Entry* entry : entries()) {
            if (entry->name == previous)
                continue;
            if (!names.empty())
                names += ", ";
            names += entry->name;
            previous = entry->name;
        }
        return names.empty() ? "none" : names;
    }

  private:
    template <class V>
    static constexpr std::optional<SecretSpec> secret_of() {
        if constexpr (requires { V::secret(); })
            return V::secret();
        else
            return std::nullopt;
    }

    template <class V>
    static constexpr auto browse_of() {
        using Browse =
            expected<std::vector<BrowseEntry>, UsageError> (*)(Plugin&, std::string_view);
        if constexpr (requires(V & plugin, std::string_view dir) {
                          {
                              plugin.browse(dir)
                              } -> std::same_as<expected<std::vector<BrowseEntry>, UsageError>>;
                      })
            return Browse{[](Plugin& plugin, std::string_view dir) {
                return static_cast<V&>(plugin).browse(dir);
            }};
        else
            return Browse{[](Plugin& plugin, std::string_view dir) {
                return browse_by_listing(plugin, dir);
            }};
    }

    struct Head {
        Node* first = nullptr;
        Node* last = nullptr;
    };

    static Head& head() noexcept {
        static constinit Head list{};
        return list;
    }

    static void link(Node& node) noexcept {
        Head& list = head();
        if (list.last != nullptr)
            list.last->next = &node;
        else
            list.first = &node;
        list.last = &node;
    }

    static void unlink(Node& node) noexcept {
        Head& list = head();
        Node* previous = nullptr;
        for (Node* it = list.first; it != nullptr; previous = it, it = it->next) {
            if (it != &node)
                continue;
            (previous != nullptr ? previous->next : list.first) = it->next;
            if (list.last == it)
                list.last = previous;
            return;
        }
    }
};

using PluginRegistry = Registry<SyncPlugin>;

} // namespace kitovu

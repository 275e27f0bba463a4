// Which source a local path belongs to in this run: the first source (or remote name) listing it
// keeps it, so that files never flip-flop between two. Claimed paths are also the ones listed
// this run, which tells what is gone remotely. Planning thread only.
#pragma once

#include "kitovu/config/settings_model.hpp"
#include "kitovu/disk/names.hpp"

#include <optional>
#include <string>
#include <unordered_map>

namespace kitovu::detail {

class Claims {
  public:
    struct Claim {
        const Source* source; // the first source listing the local path
        bool is_folder;
    };

    // Who holds `key` already, if another did: `taken_by` is set when that is another path of
    // the same name in another case, on a target that folds case (`folds`).
    struct Refusal {
        const Claim* holder = nullptr;
        std::string taken_by{};
    };

    // Claims `key` for `source`; a refusal when somebody has it.
    std::optional<Refusal> claim(const std::string& key, const Source& source, bool is_folder,
                                 bool folds) {
        const auto [it, fresh] = claims_.try_emplace(key, Claim{&source, is_folder});
        if (!fresh)
            return Refusal{&it->second};
        if (!folds)
            return std::nullopt;
        const auto folded = folded_.try_emplace(fold_case(key), key);
        if (folded.second || folded.first->second == key)
            return std::nullopt;
        const auto holder = claims_.find(folded.first->second);
        return Refusal{holder == claims_.end() ? &it->second : &holder->second,
                       folded.first->second};
    }

    // Claims `key` unless somebody has it.
    void add(const std::string& key, const Source& source, bool is_folder) {
        claims_.try_emplace(key, Claim{&source, is_folder});
    }
    void release(const std::string& key) { claims_.erase(key); }
    bool contains(const std::string& key) const { return claims_.contains(key); }

  private:
    std::unordered_map<std::string, Claim> claims_; // by local path
    // On targets that fold case: local paths by their folded form.
    std::unordered_map<std::string, std::string> folded_;
};

} // namespace kitovu::detail

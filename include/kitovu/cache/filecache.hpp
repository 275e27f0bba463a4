// The file cache: what kitovu placed, per local file, so each sync can tell a remote change from
// a local edit. One cache per config file, saved atomically; a damaged cache is set aside.
#pragma once

#include "kitovu/cache/files.hpp"
#include "kitovu/disk/file_io.hpp"
#include "kitovu/disk/local_identity.hpp"
#include "kitovu/error.hpp"
#include "kitovu/warning.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <vector>

namespace kitovu {

struct CacheEntry {
    std::string connection;
    std::string plugin;
    std::string remote_path;    // remote-dir/relative path, as the remote names it
    std::string remote_digest;  // the remote file's digest when it was synced
    LocalIdentity local{};      // the local file as kitovu left it
    std::string content_hash{}; // of the bytes kitovu wrote (ContentHash); "" if it wrote none
    bool racy = false; // `local` was taken in the clock tick of the last change: confirm by content
    bool gone = false; // gone remotely; kept while the local copy is there (a tombstone)
    std::string remote_id{}; // the plugin's stable identity of the remote file, if it has one
    std::string remote_fingerprint{}; // and its fingerprint (RemoteEntry::fingerprint), if any

    friend bool operator==(const CacheEntry&, const CacheEntry&) = default;
};

namespace detail {

inline std::string identity_field(const LocalIdentity& id) {
    return fmt::format("{} {} {} {} {}", id.size, id.mtime_ns, id.ctime_ns, id.inode, id.device);
}

inline bool parse_identity(std::string_view field, LocalIdentity& id) {
    const char* at = field.data();
    const char* end = field.data() + field.size();
    const auto next = [&](auto& value, bool last) {
        auto [ptr, ec] = std::from_chars(at, end, value);
        if (ec != std::errc{} || (last ? ptr != end : ptr == end || *ptr != ' '))
            return false;
        at = last ? ptr : ptr + 1;
        return true;
    };
    return next(id.size, false) && next(id.mtime_ns, false) && next(id.ctime_ns, false) &&
           next(id.inode, false) && next(id.device, true);
}

// The first format's local digest, "SIZE-MTIME" in whole seconds ("" when unknown).
inline bool parse_legacy_digest(std::string_view digest, LocalIdentity& id) {
    id = {};
    if (digest.empty())
        return true;
    const auto dash = digest.find('-', 1);
    if (dash == std::string_view::npos)
        return false;
    std::int64_t seconds = 0;
    const auto size = std::from_chars(digest.data(), digest.data() + dash, id.size);
    const auto time =
        std::from_chars(digest.data() + dash + 1, digest.data() + digest.size(), seconds);
    if (size.ec != std::errc{} || size.ptr != digest.data() + dash || time.ec != std::errc{} ||
        time.ptr != digest.data() + digest.size())
        return false;
    id.mtime_ns = seconds * 1'000'000'000;
    return true;
}

// One entry as one line: the local path and the entry's fields, tab-separated, escaped.
template <class Out>
void append_line(Out& out, std::string_view local_path, const CacheEntry& entry) {
    const std::string identity = identity_field(entry.local);
    const std::string flags = std::string{entry.racy ? "r" : ""} + (entry.gone ? "g" : "");
    for (std::string_view field :
         {local_path, std::string_view{entry.connection}, std::string_view{entry.plugin},
          std::string_view{entry.remote_path}, std::string_view{entry.remote_digest},
          std::string_view{identity}, std::string_view{entry.content_hash},
          std::string_view{flags}}) {
        append_escaped(out, field);
        out += '\t';
    }
    append_escaped(out, entry.remote_id);
    if (!entry.remote_fingerprint.empty()) { // a tenth field only where there is one
        out += '\t';
        append_escaped(out, entry.remote_fingerprint);
    }
    out += '\n';
}

// The reverse of append_line (without the newline), also for lines of the first format (six
// fields, the last a "SIZE-MTIME" digest) and lines without a fingerprint (nine); false when
// the line is malformed.
inline bool parse_line(std::string_view line, std::string& local_path, CacheEntry& entry,
                       bool* forget = nullptr) {
    // Split first, then unescaped straight into the entry: a cache of 100,000 lines is read at
    // the start of every run, so no string is made per field.
    std::array<std::string_view, 10> fields;
    std::size_t count = 0;
    for (;;) {
        if (count == fields.size())
            return false;
        const auto tab = line.find('\t');
        fields[count++] = line.substr(0, tab);
        if (tab == std::string_view::npos)
            break;
        line.remove_prefix(tab + 1);
    }
    if (count != 6 && count != 9 && count != 10)
        return false;
    if (!unescape(fields[0], local_path) || !unescape(fields[1], entry.connection) ||
        !unescape(fields[2], entry.plugin) || !unescape(fields[3], entry.remote_path) ||
        !unescape(fields[4], entry.remote_digest))
        return false;
    if (count == 6) {
        entry.content_hash.clear();
        entry.remote_id.clear();
        entry.remote_fingerprint.clear();
        entry.racy = entry.gone = false;
        if (!parse_legacy_digest(fields[5], entry.local))
            return false;
    } else {
        // The identity and the flags are digits, spaces and letters: never escaped.
        const std::string_view flags = fields[7];
        if (!parse_identity(fields[5], entry.local) ||
            flags.find_first_not_of(forget != nullptr ? "rgx" : "rg") != std::string_view::npos ||
            !unescape(fields[6], entry.content_hash) || !unescape(fields[8], entry.remote_id))
            return false;
        if (count == 9)
            entry.remote_fingerprint.clear();
        else if (!unescape(fields[9], entry.remote_fingerprint))
            return false;
        entry.racy = flags.contains('r');
        entry.gone = flags.contains('g');
        if (forget != nullptr)
            *forget = flags.contains('x');
    }
    return !local_path.empty() && local_path.front() == '/';
}

// A cache named through a symbolic link (a dotfiles folder, another disk) is the file the link
// leads to, and its lock and journal live beside that file: the cache is saved by rename, which
// would replace the link itself, and every name of one cache then shares one lock. Only the
// name the user gave is followed; links at the lock's and the journal's names never are.
inline std::filesystem::path followed_link(std::filesystem::path file) {
    for (int hops = 0; hops < 40; ++hops) { // a loop of links fails later, as ELOOP
        std::error_code ec;
        if (!std::filesystem::is_symlink(file, ec))
            break;
        const auto target = std::filesystem::read_symlink(file, ec);
        if (ec)
            break;
        file = target.is_absolute() ? target : file.parent_path() / target;
    }
    return file;
}

// Makes sure the folder of `cache_file` exists, created 0700 where kitovu creates it, and belongs
// to the user running kitovu: the cache, its lock, journal and temporaries must not be reachable
// by another local user who could plant links or files at their predictable names.
inline expected<void, UsageError> prepare_cache_folder(const std::filesystem::path& cache_file) {
    const auto folder =
        cache_file.parent_path().empty() ? std::filesystem::path{"."} : cache_file.parent_path();
    std::filesystem::path made;
    for (const auto& name : folder) {
        made /= name;
        if (::mkdir(made.c_str(), 0700) != 0 && errno != EEXIST)
            return fail(ErrorKind::io, "cannot create the cache folder: " + detail::errno_message(),
                        made.string());
    }
    struct ::stat info {};
    if (::stat(folder.c_str(), &info) != 0 || !S_ISDIR(info.st_mode))
        return fail(ErrorKind::io, "the cache folder is not a folder", folder.string());
    if (info.st_uid != ::geteuid())
        return fail(ErrorKind::usage,
                    "the cache folder " + folder.string() +
                        " belongs to another user; choose another with --cache FILE");
    if ((info.st_mode & S_IWOTH) != 0 && (info.st_mode & S_ISVTX) == 0)
        return fail(ErrorKind::usage, "the cache folder " + folder.string() +
                                          " is writable by every user; choose another with "
                                          "--cache FILE");
    return {};
}

} // namespace detail

class FileCache {
  public:
    static constexpr std::string_view header = "kitovu-cache 2";
    // Caches of the first format load (their entries know size and whole seconds only) and are
    // saved in the current one.
    static constexpr std::string_view first_header = "kitovu-cache 1";

    // A missing cache is an empty cache. A damaged one is moved aside as FILE.corrupt-TIMESTAMP
    // with a warning (only reported when `set_aside` is false, for dry runs), and the cache
    // starts empty: every local file then counts as never synced, which keeps local edits safe.
    static expected<FileCache, UsageError> load(const std::filesystem::path& file, WarningSink warn,
                                                bool set_aside = true) {
        FileCache cache;
        cache.changed_ = true; // until it is read: a missing or damaged cache is written anew
        std::error_code ec;
        if (!std::filesystem::exists(file, ec)) {
            if (ec)
                return fail(ErrorKind::io, "cannot read the file cache: " + ec.message(),
                            file.string());
            return cache;
        }
        std::string problem;
        if (auto read = cache.parse(file, problem); !read)
            return fail(read.error().kind, "cannot read the file cache: " + read.error().message,
                        file.string());
        cache.changed_ = !problem.empty();
        if (!problem.empty()) {
            cache.entries_.clear();
            if (!set_aside) {
                warn(Warning{WarningKind::cache,
                             "the file cache is damaged (" + problem + ")",
                             {},
                             file.string()});
                return cache;
            }
            const auto aside = file.string() + ".corrupt-" + timestamp();
            std::filesystem::rename(file, aside, ec);
            if (ec)
                return fail(ErrorKind::io,
                            "the file cache is damaged (" + problem +
                                ") and cannot be moved aside: " + ec.message(),
                            file.string());
            warn(Warning{WarningKind::cache,
                         "the file cache was damaged (" + problem + "); it was moved to " + aside +
                             " and files already on disk are treated as never synced",
                         {},
                         file.string()});
        }
        return cache;
    }

    // Marks an entry gone remotely, or back (see CacheEntry::gone).
    void set_gone(const std::string& local_path, bool gone = true) {
        if (auto it = entries_.find(local_path); it != entries_.end() && it->second.gone != gone) {
            it->second.gone = gone;
            changed_ = true;
        }
    }

    // Adds the journal's entries whose local file is still the one kitovu wrote (`verify`, which
    // may bring the entry up to date), so files placed just before a crash are known as
    // kitovu's, and forgets the records of files moved away (CacheJournal::append_move) whose
    // old place is empty. Returns how many were added.
    std::size_t replay(const std::filesystem::path& journal,
                       FunctionRef<bool(const std::string&, CacheEntry&)> verify) {
        std::size_t added = 0;
        std::optional<LocalIdentity> added_last; // a move's new place comes just before its old
        // A line cut short by the crash is not passed on by for_each_line.
        [[maybe_unused]] auto read = detail::for_each_line(journal, [&](std::string_view line) {
            std::string local_path;
            CacheEntry entry;
            bool forget = false;
            if (!detail::parse_line(line, local_path, entry, &forget))
                return true;
            if (forget) {
                struct ::stat info {};
                const bool gone = ::lstat(local_path.c_str(), &info) != 0 && errno == ENOENT;
                // Where names fold case, a case-only rename's old name finds the moved file.
                const bool moved_in_case = !gone && added_last &&
                                           added_last->inode == info.st_ino &&
                                           added_last->device == info.st_dev;
                if (gone || moved_in_case) {
                    changed_ = entries_.erase(local_path) > 0 || changed_;
                    moved_away_.push_back(std::move(local_path));
                }
                added_last.reset();
            } else if (verify(local_path, entry)) {
                added_last = entry.local;
                entries_.insert_or_assign(std::move(local_path), std::move(entry));
                ++added;
            } else {
                added_last.reset();
            }
            return true;
        });
        changed_ = changed_ || added > 0;
        return added;
    }

    // The old names of the files a replayed journal moved: their folders may be left empty.
    const std::vector<std::string>& moved_away() const noexcept { return moved_away_; }

    const CacheEntry* find(const std::string& local_path) const {
        auto it = entries_.find(local_path);
        return it == entries_.end() ? nullptr : &it->second;
    }
    void put(std::string local_path, CacheEntry entry) {
        entries_.insert_or_assign(std::move(local_path), std::move(entry));
        changed_ = true;
    }
    void erase(const std::string& local_path) {
        changed_ = entries_.erase(local_path) > 0 || changed_;
    }
    // Whether it differs from the file it was loaded from (or there was none): a run that
    // changed nothing need not write it again.
    bool changed() const noexcept { return changed_; }
    std::size_t size() const noexcept { return entries_.size(); }
    const std::unordered_map<std::string, CacheEntry>& entries() const noexcept { return entries_; }

    // The whole cache as text, entries sorted by local path so equal caches are equal files.
    std::string serialize() const {
        std::string out;
        write_to(out);
        return out;
    }

    expected<void, UsageError> save(const std::filesystem::path& file) const {
        if (auto folder = detail::prepare_cache_folder(file); !folder)
            return fail(folder.error());
        return detail::write_atomically(file, [this](detail::BufferedFile& out) { write_to(out); });
    }

  private:
    template <class Out>
    void write_to(Out& out) const {
        std::vector<const std::pair<const std::string, CacheEntry>*> sorted;
        sorted.reserve(entries_.size());
        for (const auto& item : entries_)
            sorted.push_back(&item);
        std::ranges::sort(sorted, {},
                          [](const auto* item) -> const std::string& { return item->first; });
        out += header;
        out += '\n';
        for (const auto* item : sorted)
            detail::append_line(out, item->first, item->second);
        // The trailer tells a complete file from a truncated one.
        out += std::string_view{"end " + std::to_string(entries_.size()) + '\n'};
    }

    // Reads `file` into the cache; `problem` says what is wrong with it, "" when it is a
    // complete cache. An error only when the file cannot be read at all.
    expected<void, UsageError> parse(const std::filesystem::path& file, std::string& problem) {
        std::size_t line_number = 0;
        std::size_t count = 0;
        bool ended = false;
        auto complete = detail::for_each_line(file, [&](std::string_view line) {
            ++line_number;
            const auto where = [&] { return "line " + std::to_string(line_number); };
            if (line_number == 1) {
                if (line != header && line != first_header)
                    problem = "it does not start with '" + std::string{header} + "'";
            } else if (ended) {
                problem = "data after the end marker at " + where();
            } else if (line.starts_with("end ")) {
                if (line.substr(4) != std::to_string(count))
                    problem = "the entry count does not match at " + where();
                ended = true;
            } else {
                std::string local_path;
                CacheEntry entry;
                if (!detail::parse_line(line, local_path, entry))
                    problem = "a malformed entry at " + where();
                entries_.insert_or_assign(std::move(local_path), std::move(entry));
                ++count;
            }
            return problem.empty();
        });
        if (!complete)
            return fail(complete.error());
        if (!problem.empty())
            return {};
        if (!*complete)
            problem = "it ends in the middle of a line";
        else if (line_number == 0)
            problem = "it is empty";
        else if (!ended)
            problem = "it is truncated";
        return {};
    }

    static std::string timestamp() {
        return fmt::format("{:%Y%m%d-%H%M%S}", fmt::localtime(std::time(nullptr)));
    }

    bool changed_ = false;
    std::unordered_map<std::string, CacheEntry> entries_;
    std::vector<std::string> moved_away_; // see moved_away()
};

} // namespace kitovu

// What kitovu knows of a local file it placed, so that no edit can hide from the next run: the
// identity the file system offers (as git's index records it) and a hash of the bytes written.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <bit>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace kitovu {

// Size, modification and change times with nanoseconds, inode and device. A same-size edit in
// the same second changes the nanoseconds; `touch -r`, `cp -p` and unzip restore the
// modification time but not the change time or the inode. Identities read from a cache of the
// first format know only size and whole seconds (`legacy()`).
struct LocalIdentity {
    std::uint64_t size = 0;
    std::int64_t mtime_ns = 0;
    std::int64_t ctime_ns = 0;
    std::uint64_t inode = 0;
    std::uint64_t device = 0;

    static LocalIdentity of(const struct ::stat& info) noexcept {
        return {static_cast<std::uint64_t>(info.st_size), nanoseconds(info.st_mtim),
                nanoseconds(info.st_ctim), static_cast<std::uint64_t>(info.st_ino),
                static_cast<std::uint64_t>(info.st_dev)};
    }

    bool legacy() const noexcept { return ctime_ns == 0 && inode == 0 && device == 0; }

    // Whether `now` is the file this identity was taken of, unchanged (a legacy identity can
    // only tell size and whole seconds).
    bool matches(const LocalIdentity& now) const noexcept {
        if (legacy())
            return size == now.size && seconds(mtime_ns) == seconds(now.mtime_ns);
        return *this == now;
    }

    static std::int64_t nanoseconds(const ::timespec& t) noexcept {
        return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
    }
    static std::int64_t seconds(std::int64_t ns) noexcept {
        return ns >= 0 ? ns / 1'000'000'000 : -((-ns + 999'999'999) / 1'000'000'000);
    }

    friend bool operator==(const LocalIdentity&, const LocalIdentity&) = default;
};

// Whether an identity taken now could miss a change still to come: file systems stamp changes
// with the kernel's coarse clock, so an edit within the same tick as the last change leaves the
// change time as it is. Such a "racily clean" record is confirmed by content on the next look
// (git's racy-git rule).
inline bool racily_clean(const LocalIdentity& identity) noexcept {
    ::timespec now{};
    ::clock_gettime(CLOCK_REALTIME_COARSE, &now);
    return identity.ctime_ns >= LocalIdentity::nanoseconds(now);
}

// A fast 64-bit hash of a byte stream (the XXH64 construction), fed while a download is written
// so the bytes kitovu placed can be recognised later without having kept them.
class ContentHash {
  public:
    void update(std::span<const std::byte> data) noexcept {
        total_ += data.size();
        if (buffered_ > 0) {
            const std::size_t take = std::min(data.size(), buffer_.size() - buffered_);
            std::memcpy(buffer_.data() + buffered_, data.data(), take);
            buffered_ += take;
            data = data.subspan(take);
            if (buffered_ < buffer_.size())
                return;
            consume(buffer_.data());
            buffered_ = 0;
        }
        while (data.size() >= buffer_.size()) {
            consume(data.data());
            data = data.subspan(buffer_.size());
        }
        std::memcpy(buffer_.data(), data.data(), data.size());
        buffered_ = data.size();
    }

    // Sixteen hex digits.
    std::string hex() const {
        std::uint64_t h = total_ >= buffer_.size()
                              ? std::rotl(lanes_[0], 1) + std::rotl(lanes_[1], 7) +
                                    std::rotl(lanes_[2], 12) + std::rotl(lanes_[3], 18)
                              : prime5;
        if (total_ >= buffer_.size())
            for (std::uint64_t lane : lanes_)
                h = (h ^ round(0, lane)) * prime1 + prime4;
        h += total_;
        std::size_t i = 0;
        for (; i + 8 <= buffered_; i += 8)
            h = std::rotl(h ^ round(0, load64(buffer_.data() + i)), 27) * prime1 + prime4;
        for (; i + 4 <= buffered_; i += 4)
            h = std::rotl(h ^ (load32(buffer_.data() + i) * prime1), 23) * prime2 + prime3;
        for (; i < buffered_; ++i)
            h = std::rotl(h ^ (std::to_integer<std::uint64_t>(buffer_[i]) * prime5), 11) * prime1;
        h = (h ^ (h >> 33)) * prime2;
        h = (h ^ (h >> 29)) * prime3;
        h ^= h >> 32;
        static constexpr char digits[] = "0123456789abcdef";
        std::string out(16, '0');
        for (int d = 15; d >= 0; --d, h >>= 4)
            out[static_cast<std::size_t>(d)] = digits[h & 15];
        return out;
    }

  private:
    static constexpr std::uint64_t prime1 = 0x9E3779B185EBCA87ull;
    static constexpr std::uint64_t prime2 = 0xC2B2AE3D27D4EB4Full;
    static constexpr std::uint64_t prime3 = 0x165667B19E3779F9ull;
    static constexpr std::uint64_t prime4 = 0x85EBCA77C2B2AE63ull;
    static constexpr std::uint64_t prime5 = 0x27D4EB2F165667C5ull;

    static std::uint64_t load64(const std::byte* p) noexcept {
        std::uint64_t v;
        std::memcpy(&v, p, 8);
        return v;
    }
    static std::uint64_t load32(const std::byte* p) noexcept {
        std::uint32_t v;
        std::memcpy(&v, p, 4);
        return v;
    }
    static std::uint64_t round(std::uint64_t acc, std::uint64_t input) noexcept {
        return std::rotl(acc + input * prime2, 31) * prime1;
    }
    void consume(const std::byte* block) noexcept {
        for (std::size_t lane = 0; lane < 4; ++lane)
            lanes_[lane] = round(lanes_[lane], load64(block + 8 * lane));
    }

    std::array<std::uint64_t, 4> lanes_{prime1 + prime2, prime2, 0, 0 - prime1};
    std::array<std::byte, 32> buffer_{};
    std::size_t buffered_ = 0;
    std::uint64_t total_ = 0;
};

// The hash of what an open file holds from its current offset to its end; nothing when it
// cannot be read.
inline std::optional<std::string> content_hash_of_fd(int fd) {
    ContentHash hash;
    std::vector<std::byte> block(std::size_t{1} << 20);
    for (;;) {
        const auto n = ::read(fd, block.data(), block.size());
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return std::nullopt;
        if (n == 0)
            break;
        hash.update(std::span{block.data(), static_cast<std::size_t>(n)});
    }
    return hash.hex();
}

// The hash of what is in `file` now, read without following a symbolic link; nothing when it
// cannot be read.
inline std::optional<std::string> content_hash_of(const char* file, int folder = AT_FDCWD) {
    const int fd = ::openat(folder, file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return std::nullopt;
    auto hash = content_hash_of_fd(fd);
    ::close(fd);
    return hash;
}

} // namespace kitovu

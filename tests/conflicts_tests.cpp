// Resolving a conflict (conflicts.hpp): which copy belongs to which file, and what the next runs
// do after "keep mine" (the copy removed) and "take theirs" (the remote version put in place,
// the edit kept as a backup). Against the engine with the local plugin.
#include "engine_setup.hpp"

#include <kitovu/engine/conflicts.hpp>

using namespace kitovu;
using namespace kitovu::test;

TEST_CASE("a conflict copy's name tells its original") {
    struct Case {
        std::string copy;
        std::optional<std::string> original;
    };
    const std::vector<Case> cases{
        {"a.remote-conflict-20261130-130501.pdf", "a.pdf"},
        {"a.remote-conflict-20261130-130501-2.pdf", "a.pdf"},
        {"Makefile.remote-conflict-20261130-130501", "Makefile"},
        {"v1.2.remote-conflict-20261130-130501.tar", "v1.2.tar"},
        {"a.remote-conflict-2026113-130501.pdf", std::nullopt},   // a digit short
        {"a.remote-conflict-20261130-130501x.pdf", std::nullopt}, // not a name the engine gives
        {"a.remote-conflict-20261130-130501-.pdf", std::nullopt},
        {".remote-conflict-20261130-130501", std::nullopt}, // no stem
        {"a.pdf", std::nullopt},
    };
    for (const Case& c : cases) {
        INFO(c.copy);
        const auto original = conflict_original(std::filesystem::path{"/x"} / c.copy);
        CHECK(original.has_value() == c.original.has_value());
        if (original && c.original)
            CHECK(*original == std::filesystem::path{"/x"} / *c.original);
    }
}

namespace {

// A synced file edited here and changed remotely: the next run leaves a conflict.
Conflict make_conflict(Setup& setup) {
    setup.put("blatt.txt", "remote v1", old_time);
    setup.run();
    write_file(setup.local("blatt.txt"), "my notes");
    setup.put("blatt.txt", "remote v2", new_time);
    REQUIRE(setup.run().count(FileState::conflict) == 1);
    const auto found = find_conflicts(setup.target());
    REQUIRE(found.size() == 1);
    CHECK(found[0].mine == setup.local("blatt.txt"));
    CHECK(read_file(found[0].theirs) == "remote v2");
    return found[0];
}

} // namespace

TEST_CASE(
    "keep mine: with the remote copy removed, the next runs keep the edit and fetch nothing") {
    Setup setup{"local"};
    const Conflict conflict = make_conflict(setup);
    std::filesystem::remove(conflict.theirs);
    const auto report = setup.run();
    CHECK(report.count(FileState::local_changed) == 1);
    CHECK(report.count(FileState::conflict) == 0);
    CHECK(read_file(conflict.mine) == "my notes");
    CHECK(conflict_copies(setup.target()).empty());
}

TEST_CASE("take theirs: the remote version in place, mine kept as a backup, the file in step") {
    Setup setup{"local"};
    const Conflict conflict = make_conflict(setup);
    const std::time_t when = 1'764'500'000;
    auto backup = take_theirs(conflict, setup.cache_file(), when);
    REQUIRE(backup);
    CHECK(*backup == backup_path(conflict.mine, when));
    CHECK(read_file(conflict.mine) == "remote v2");
    CHECK(read_file(*backup) == "my notes");
    CHECK_FALSE(std::filesystem::exists(conflict.theirs));

    SECTION("the next run sees it in step, not as an edit") {
        const auto report = setup.run();
        CHECK(report.count(FileState::unchanged) == 1);
        CHECK(report.count(FileState::local_changed) == 0);
        CHECK(conflict_copies(setup.target()).empty());
    }
    SECTION("a later remote change replaces it cleanly (no conflict)") {
        setup.put("blatt.txt", "remote v3", new_time + 10);
        const auto report = setup.run();
        CHECK(report.count(FileState::remote_changed) == 1);
        CHECK(read_file(conflict.mine) == "remote v3");
        CHECK(read_file(*backup) == "my notes");
    }
}

TEST_CASE("take theirs is refused while a sync holds the cache, and changes nothing") {
    Setup setup{"local"};
    const Conflict conflict = make_conflict(setup);
    auto held = CacheLock::acquire(setup.cache_file());
    REQUIRE(held);
    CHECK_FALSE(take_theirs(conflict, setup.cache_file(), 1'764'500'000));
    CHECK(read_file(conflict.mine) == "my notes");
    CHECK(read_file(conflict.theirs) == "remote v2");
}

TEST_CASE("take theirs never replaces a file already at the backup's name") {
    Setup setup{"local"};
    const Conflict conflict = make_conflict(setup);
    const std::time_t when = 1'764'500'000;
    write_file(backup_path(conflict.mine, when), "someone else's");
    CHECK_FALSE(take_theirs(conflict, setup.cache_file(), when));
    CHECK(read_file(conflict.mine) == "my notes");
    CHECK(read_file(conflict.theirs) == "remote v2");
    CHECK(read_file(backup_path(conflict.mine, when)) == "someone else's");
}

// Output sets published as a unit (base/output_set.h).
#include "base/output_set.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/error.h"

namespace systole {
namespace {

namespace fs = std::filesystem;

std::string Read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class OutputSetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("systole-outset-" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  // A pid that no longer names a process: a child that exited and was reaped.
  static pid_t DeadPid() {
    const pid_t pid = ::fork();
    if (pid == 0) ::_exit(0);
    ::waitpid(pid, nullptr, 0);
    return pid;
  }
  fs::path root_;
};

TEST_F(OutputSetTest, FreshDirectoryGetsTheWholeSetAndAManifest) {
  OutputSet set((root_ / "out").string());
  set.Add("a.json", "{}\n");
  set.Add("b.csv", "x,y\n");
  set.Publish();
  EXPECT_EQ(Read(root_ / "out" / "a.json"), "{}\n");
  EXPECT_EQ(Read(root_ / "out" / "b.csv"), "x,y\n");
  EXPECT_EQ(Read(root_ / "out" / kManifestName), set.Manifest());
  EXPECT_TRUE(OutputSetComplete((root_ / "out").string()));
  // Nothing left beside it.
  int entries = 0;
  for (const auto& e : fs::directory_iterator(root_)) entries += e.path().filename() != "out";
  EXPECT_EQ(entries, 0);
}

TEST_F(OutputSetTest, FailurePartwayLeavesThePreviousSetIntact) {
  OutputSet first((root_ / "out").string());
  first.Add("a.json", "old a");
  first.Add("b.csv", "old b");
  first.Publish();
  // The second run's b.csv destination is a directory: refused before any file moves.
  fs::remove(root_ / "out" / "b.csv");
  fs::create_directory(root_ / "out" / "b.csv");
  std::ofstream(root_ / "out" / "b.csv.keep") << "";
  OutputSet second((root_ / "out").string());
  second.Add("a.json", "new a");
  second.Add("b.csv", "new b");
  EXPECT_THAT([&] { second.Publish(); },
              ::testing::ThrowsMessage<InputError>(::testing::HasSubstr("b.csv: is a directory")));
  EXPECT_EQ(Read(root_ / "out" / "a.json"), "old a");
  EXPECT_TRUE(fs::exists(root_ / "out" / kManifestName));
  // The staging directory was removed.
  for (const auto& e : fs::directory_iterator(root_)) EXPECT_EQ(e.path().filename(), "out");
}

TEST_F(OutputSetTest, ReplacingASetUpdatesEveryFileAndTheManifest) {
  OutputSet first((root_ / "out").string());
  first.Add("a.json", "old");
  first.Publish();
  OutputSet second((root_ / "out" / "").string());  // trailing slash
  second.Add("a.json", "new");
  second.Publish();
  EXPECT_EQ(Read(root_ / "out" / "a.json"), "new");
  EXPECT_TRUE(OutputSetComplete((root_ / "out").string()));
}

TEST_F(OutputSetTest, StaleOrTamperedSetIsDistinguishable) {
  OutputSet set((root_ / "out").string());
  set.Add("a.json", "content");
  set.Publish();
  std::ofstream(root_ / "out" / "a.json") << "other";  // a newer run died after this file
  EXPECT_FALSE(OutputSetComplete((root_ / "out").string()));
  fs::remove(root_ / "out" / kManifestName);
  EXPECT_FALSE(OutputSetComplete((root_ / "out").string()));
}

TEST_F(OutputSetTest, LeftoversOfDeadRunsAreCleanedOnTheNextRun) {
  const pid_t dead = DeadPid();
  fs::create_directories(root_ / "out");
  const fs::path old_tmp = root_ / "out" / ("report.json.tmp." + std::to_string(dead));
  const fs::path old_staging = root_ / (".out.staging." + std::to_string(dead));
  std::ofstream(old_tmp) << "half";
  fs::create_directory(old_staging);
  std::ofstream(old_staging / "a.json") << "half";
  // A live process's staging directory (ours is reused, so use the parent's) is kept.
  const fs::path live_staging = root_ / (".out.staging." + std::to_string(::getppid()));
  fs::create_directory(live_staging);
  OutputSet set((root_ / "out").string());
  set.Add("a.json", "x");
  set.Publish();
  EXPECT_FALSE(fs::exists(old_tmp));
  EXPECT_FALSE(fs::exists(old_staging));
  EXPECT_TRUE(fs::exists(live_staging));
}

TEST_F(OutputSetTest, TargetThatIsAFileIsRefused) {
  std::ofstream(root_ / "file") << "x";
  OutputSet set((root_ / "file").string());
  set.Add("a.json", "x");
  EXPECT_THAT([&] { set.Publish(); }, ::testing::ThrowsMessage<InputError>(
                                          ::testing::HasSubstr("exists and is not a directory")));
  EXPECT_EQ(Read(root_ / "file"), "x");
}

}  // namespace
}  // namespace systole

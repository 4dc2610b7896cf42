// `systole sweep` end to end: rows in SQLite, resume after kill -9 with no point lost or
// repeated, refusing databases that are not Systole's, MPI ranks sharing the points.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

namespace {

struct Result {
  int exit_code = -1;
  std::string output;
};

Result Shell(const std::string& cmd) {
  Result r;
  FILE* pipe = popen((cmd + " 2>&1").c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output.append(buf.data(), n);
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string Dir(const std::string& name) {
  const std::string dir =
      testing::TempDir() + "/sweep_run_" + name + "_" + std::to_string(getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// Eight quick points: an element-wise kernel at eight widths.
std::string WriteSpec(const std::string& dir) {
  const std::string path = dir + "/spec.toml";
  std::ofstream(path) << R"(command = "kernel"
args = ["add"]
[[axis]]
option = "--shape"
values = ["128x512", "128x1024", "128x1536", "128x2048", "128x2560", "128x3072", "128x3584", "128x4096"]
[pareto]
minimize = ["time_ns"]
)";
  return path;
}

// (rows, distinct points, ok rows with a report) in the database.
std::array<long, 3> Counts(const std::string& db_path) {
  std::array<long, 3> out{-1, -1, -1};
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return out;
  }
  const char* sql[3] = {"SELECT COUNT(*) FROM points", "SELECT COUNT(DISTINCT point) FROM points",
                        "SELECT COUNT(*) FROM points WHERE status = 'ok' AND length(report) > 0 "
                        "AND point IN (SELECT point FROM figures WHERE key = 'time_ns')"};
  for (int i = 0; i < 3; ++i) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, sql[i], -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      out[static_cast<std::size_t>(i)] = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return out;
}

TEST(SweepRun, EveryPointIsOneRow) {
  const std::string dir = Dir("rows");
  const std::string spec = WriteSpec(dir);
  Result r = Shell(std::string(SYSTOLE_BINARY) + " sweep " + spec + " -j 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, testing::HasSubstr("8 points: 8 ok, 0 input errors, 0 failed"));
  // The widest add is the slowest, the narrowest the fastest: one point on the front.
  EXPECT_THAT(r.output, testing::HasSubstr("Pareto front (1 of 8 ok points"));
  EXPECT_EQ(Counts(dir + "/spec.sqlite"), (std::array<long, 3>{8, 8, 8}));
  // A second run finds everything stored and runs nothing.
  r = Shell(std::string(SYSTOLE_BINARY) + " sweep " + spec + " -j 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, testing::HasSubstr("8 stored, 0 to run"));
  EXPECT_EQ(Counts(dir + "/spec.sqlite"), (std::array<long, 3>{8, 8, 8}));
}

TEST(SweepRun, ResumesAfterKillNineWithNoPointLostOrRepeated) {
  const std::string dir = Dir("kill");
  const std::string spec = WriteSpec(dir);
  const std::string db = dir + "/spec.sqlite";
  // Kill the sweep at several moments (fixed, so the test is repeatable), each time
  // restarting it; then let it finish.
  for (int delay_ms : {30, 120, 250, 400}) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      const int devnull = open("/dev/null", O_WRONLY);
      dup2(devnull, STDOUT_FILENO);
      dup2(devnull, STDERR_FILENO);
      execl(SYSTOLE_BINARY, SYSTOLE_BINARY, "sweep", spec.c_str(), "-j", "2", nullptr);
      _exit(127);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    const std::array<long, 3> c = Counts(db);
    if (c[0] >= 0) {
      EXPECT_EQ(c[0], c[1]) << "a point stored twice after a kill at " << delay_ms << " ms";
      EXPECT_EQ(c[0], c[2]) << "a half-written point after a kill at " << delay_ms << " ms";
    }
  }
  Result r = Shell(std::string(SYSTOLE_BINARY) + " sweep " + spec + " -j 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(Counts(db), (std::array<long, 3>{8, 8, 8}));
}

TEST(SweepRun, RefusesADatabaseThatIsNotSystoles) {
  const std::string dir = Dir("foreign");
  const std::string spec = WriteSpec(dir);
  std::ofstream(dir + "/text.sqlite") << "hello\n";
  Result r =
      Shell(std::string(SYSTOLE_BINARY) + " sweep " + spec + " --db " + dir + "/text.sqlite");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, testing::HasSubstr("text.sqlite: not a Systole results database"));
  EXPECT_EQ(std::filesystem::file_size(dir + "/text.sqlite"), 6u);  // untouched

  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open((dir + "/other.sqlite").c_str(), &other), SQLITE_OK);
  sqlite3_exec(other, "CREATE TABLE t(x); INSERT INTO t VALUES(1);", nullptr, nullptr, nullptr);
  sqlite3_close(other);
  r = Shell(std::string(SYSTOLE_BINARY) + " sweep " + spec + " --db " + dir + "/other.sqlite");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, testing::HasSubstr("other.sqlite: not a Systole results database"));
}

TEST(SweepRun, ALockedDatabaseIsAClearError) {
  const std::string dir = Dir("locked");
  const std::string spec = WriteSpec(dir);
  const std::string db_path = dir + "/spec.sqlite";
  // Create the database, then hold an exclusive lock on it.
  Result r = Shell(std::string(SYSTOLE_BINARY) + " sweep " + spec + " -j 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE;", nullptr, nullptr,
                         nullptr),
            SQLITE_OK);
  r = Shell(std::string(SYSTOLE_BINARY) + " sweep " + spec + " --lock-timeout 0.2");
  sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, testing::HasSubstr("database is locked by another process"));
}

TEST(SweepRun, MpiRanksSplitThePoints) {
  if (Shell("command -v mpirun").exit_code != 0) GTEST_SKIP() << "mpirun not installed";
  const std::string dir = Dir("mpi");
  const std::string spec = WriteSpec(dir);
  Result r = Shell("mpirun --allow-run-as-root --oversubscribe -n 2 " +
                   std::string(SYSTOLE_BINARY) + " sweep " + spec);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, testing::HasSubstr("on rank 0/2"));
  EXPECT_THAT(r.output, testing::HasSubstr("on rank 1/2"));
  EXPECT_THAT(r.output, testing::HasSubstr("8 points: 8 ok"));
  EXPECT_EQ(Counts(dir + "/spec.sqlite"), (std::array<long, 3>{8, 8, 8}));
}

}  // namespace

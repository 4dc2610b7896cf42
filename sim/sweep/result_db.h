// The SQLite database a sweep writes: one row per finished point, committed as it finishes,
// so a sweep killed at any moment (kill -9 included) loses at most the points still running,
// and a restart skips every point already stored (the primary key (sweep_id, point) makes a
// duplicate impossible).
//
// Tables (schema "systole.sweep/1", documented in docs/SWEEP.md):
//   systole_meta(key, value)    schema name and version; marks the file as Systole's
//   points(sweep_id, point, command, argv, inputs, status, exit_code, error, report, version,
//          wall_s, rank)
//       argv and inputs are JSON; status is ok | input_error | failed; report is the
//       command's --json output (ok points only); wall_s the point's wall time in seconds.
//   figures(sweep_id, point, key, value)
//       every numeric leaf of the report, by dotted path ("step_time_ns",
//       "footprint.total_bytes", "engines.0.busy_ns"), for SQL queries without JSON parsing.
// A file that exists but is not a Systole database (no systole_meta table, or another
// schema) is refused with an InputError; so is a database locked by another process for
// longer than the busy timeout.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

struct sqlite3;

namespace systole {

struct PointRow {
  std::string sweep_id;
  std::uint64_t point = 0;
  std::string command;
  std::string argv_json;
  std::string inputs_json;
  std::string status;  // ok | input_error | failed
  int exit_code = 0;
  std::string error;
  std::string report_json;  // empty unless ok
  std::string version;
  double wall_s = 0;
  int rank = 0;
};

class ResultDb {
 public:
  // Opens (creating when absent) the database at path.
  explicit ResultDb(const std::string& path, int busy_timeout_ms = 30000);
  ~ResultDb();
  ResultDb(const ResultDb&) = delete;
  ResultDb& operator=(const ResultDb&) = delete;

  // Points of the sweep already stored.
  std::set<std::uint64_t> DonePoints(const std::string& sweep_id);
  // Stores one point and its figures in one transaction.
  void Insert(const PointRow& row);
  // (point, report JSON) of every ok point of the sweep, in point order.
  std::vector<std::pair<std::uint64_t, std::string>> OkReports(const std::string& sweep_id);
  std::uint64_t Count(const std::string& sweep_id, const std::string& status);

 private:
  void Open(int busy_timeout_ms);
  void CheckOrCreateSchema();  // inside the opening transaction
  void Exec(const std::string& sql);
  [[noreturn]] void Fail(const std::string& what);

  std::string path_;
  sqlite3* db_ = nullptr;
};

}  // namespace systole

#include "sim/sweep/result_db.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "base/error.h"

namespace systole {

namespace {

constexpr const char* kSchema = "systole.sweep/1";

// RAII statement.
class Stmt {
 public:
  Stmt(sqlite3* db, const std::string& sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr) != SQLITE_OK) stmt_ = nullptr;
  }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  bool ok() const { return stmt_ != nullptr; }
  sqlite3_stmt* get() { return stmt_; }
  void Text(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.c_str(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void Int(int i, std::int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  void Real(int i, double v) { sqlite3_bind_double(stmt_, i, v); }
  int Step() { return sqlite3_step(stmt_); }
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

void Flatten(const nlohmann::json& j, const std::string& prefix,
             std::vector<std::pair<std::string, double>>& out) {
  if (j.is_number()) {
    out.emplace_back(prefix, j.get<double>());
  } else if (j.is_boolean()) {
    out.emplace_back(prefix, j.get<bool>() ? 1.0 : 0.0);
  } else if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      Flatten(it.value(), prefix.empty() ? it.key() : prefix + "." + it.key(), out);
    }
  } else if (j.is_array()) {
    for (std::size_t i = 0; i < j.size(); ++i) {
      Flatten(j[i], prefix.empty() ? std::to_string(i) : prefix + "." + std::to_string(i), out);
    }
  }
}

}  // namespace

ResultDb::ResultDb(const std::string& path, int busy_timeout_ms) : path_(path) {
  try {
    Open(busy_timeout_ms);
  } catch (...) {
    sqlite3_close(db_);  // a refused database is closed, not leaked
    db_ = nullptr;
    throw;
  }
}

void ResultDb::Open(int busy_timeout_ms) {
  const std::string& path = path_;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw InputError(path + ": is a directory, expected a results database file");
  }
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    Fail("cannot open");
  }
  sqlite3_busy_timeout(db_, busy_timeout_ms);
  // Checked and created in one write transaction, so two processes opening a new database
  // at once (MPI ranks, a restarted sweep) never see it half-made.
  {
    char* err = nullptr;
    if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, &err) != SQLITE_OK) {
      const std::string msg = err ? err : "";
      sqlite3_free(err);
      if (msg.find("locked") != std::string::npos || msg.find("busy") != std::string::npos) {
        throw InputError(path + ": database is locked by another process");
      }
      throw InputError(path + ": not a Systole results database (" + msg + ")");
    }
  }
  CheckOrCreateSchema();
  Exec("COMMIT");
  // WAL lets readers (a user's sqlite3 shell) look while the sweep writes.
  Exec("PRAGMA journal_mode=WAL");
}

void ResultDb::CheckOrCreateSchema() {
  const std::string& path = path_;
  Stmt tables(db_, "SELECT COUNT(*) FROM sqlite_master");
  if (!tables.ok() || tables.Step() != SQLITE_ROW) {
    const std::string msg = sqlite3_errmsg(db_);
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw InputError(path + ": not a Systole results database (" + msg + ")");
  }
  if (sqlite3_column_int64(tables.get(), 0) > 0) {
    // Any file that is not a Systole database is refused before anything is written to it.
    Stmt check(db_, "SELECT value FROM systole_meta WHERE key = 'schema'");
    if (!check.ok() || check.Step() != SQLITE_ROW) {
      const std::string msg = check.ok() ? "no schema entry" : sqlite3_errmsg(db_);
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw InputError(path + ": not a Systole results database (" + msg + ")");
    }
    const std::string schema = reinterpret_cast<const char*>(sqlite3_column_text(check.get(), 0));
    if (schema != kSchema) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw InputError(
          fmt::format("{}: results database of schema '{}', expected '{}'", path, schema, kSchema));
    }
  }
  Exec("CREATE TABLE IF NOT EXISTS systole_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)");
  Exec(fmt::format("INSERT OR IGNORE INTO systole_meta VALUES('schema', '{}')", kSchema));
  Exec(
      "CREATE TABLE IF NOT EXISTS points(sweep_id TEXT NOT NULL, point INTEGER NOT NULL, "
      "command TEXT NOT NULL, argv TEXT NOT NULL, inputs TEXT NOT NULL, status TEXT NOT NULL, "
      "exit_code INTEGER NOT NULL, error TEXT NOT NULL, report TEXT NOT NULL, "
      "version TEXT NOT NULL, wall_s REAL NOT NULL, rank INTEGER NOT NULL, "
      "PRIMARY KEY(sweep_id, point))");
  Exec(
      "CREATE TABLE IF NOT EXISTS figures(sweep_id TEXT NOT NULL, point INTEGER NOT NULL, "
      "key TEXT NOT NULL, value REAL NOT NULL, PRIMARY KEY(sweep_id, point, key))");
}

ResultDb::~ResultDb() { sqlite3_close(db_); }

void ResultDb::Fail(const std::string& what) {
  const std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
  if (msg.find("locked") != std::string::npos) {
    throw InputError(path_ + ": database is locked by another process (" + what + ")");
  }
  throw InputError(path_ + ": " + what + ": " + msg);
}

void ResultDb::Exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    const std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    if (msg.find("locked") != std::string::npos || msg.find("busy") != std::string::npos) {
      throw InputError(path_ + ": database is locked by another process");
    }
    throw InputError(path_ + ": " + msg);
  }
}

std::set<std::uint64_t> ResultDb::DonePoints(const std::string& sweep_id) {
  Stmt q(db_, "SELECT point FROM points WHERE sweep_id = ?");
  if (!q.ok()) Fail("cannot read points");
  q.Text(1, sweep_id);
  std::set<std::uint64_t> out;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) {
    out.insert(static_cast<std::uint64_t>(sqlite3_column_int64(q.get(), 0)));
  }
  if (rc != SQLITE_DONE) Fail("cannot read points");
  return out;
}

void ResultDb::Insert(const PointRow& row) {
  Exec("BEGIN IMMEDIATE");
  {
    Stmt ins(db_, "INSERT OR IGNORE INTO points VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (!ins.ok()) Fail("cannot store a point");
    ins.Text(1, row.sweep_id);
    ins.Int(2, static_cast<std::int64_t>(row.point));
    ins.Text(3, row.command);
    ins.Text(4, row.argv_json);
    ins.Text(5, row.inputs_json);
    ins.Text(6, row.status);
    ins.Int(7, row.exit_code);
    ins.Text(8, row.error);
    ins.Text(9, row.report_json);
    ins.Text(10, row.version);
    ins.Real(11, row.wall_s);
    ins.Int(12, row.rank);
    if (ins.Step() != SQLITE_DONE) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      Fail("cannot store a point");
    }
    if (sqlite3_changes(db_) == 1 && !row.report_json.empty()) {
      std::vector<std::pair<std::string, double>> figures;
      const nlohmann::json report = nlohmann::json::parse(row.report_json, nullptr, false);
      if (!report.is_discarded()) Flatten(report, "", figures);
      Stmt fig(db_, "INSERT OR IGNORE INTO figures VALUES(?, ?, ?, ?)");
      if (!fig.ok()) Fail("cannot store figures");
      for (const auto& [key, value] : figures) {
        fig.Text(1, row.sweep_id);
        fig.Int(2, static_cast<std::int64_t>(row.point));
        fig.Text(3, key);
        fig.Real(4, value);
        if (fig.Step() != SQLITE_DONE) {
          sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
          Fail("cannot store figures");
        }
        fig.Reset();
      }
    }
  }
  Exec("COMMIT");
}

std::vector<std::pair<std::uint64_t, std::string>> ResultDb::OkReports(
    const std::string& sweep_id) {
  Stmt q(db_,
         "SELECT point, report FROM points WHERE sweep_id = ? AND status = 'ok' ORDER BY point");
  if (!q.ok()) Fail("cannot read points");
  q.Text(1, sweep_id);
  std::vector<std::pair<std::uint64_t, std::string>> out;
  while (q.Step() == SQLITE_ROW) {
    out.emplace_back(static_cast<std::uint64_t>(sqlite3_column_int64(q.get(), 0)),
                     reinterpret_cast<const char*>(sqlite3_column_text(q.get(), 1)));
  }
  return out;
}

std::uint64_t ResultDb::Count(const std::string& sweep_id, const std::string& status) {
  Stmt q(db_, "SELECT COUNT(*) FROM points WHERE sweep_id = ? AND status = ?");
  if (!q.ok()) Fail("cannot count points");
  q.Text(1, sweep_id);
  q.Text(2, status);
  if (q.Step() != SQLITE_ROW) Fail("cannot count points");
  return static_cast<std::uint64_t>(sqlite3_column_int64(q.get(), 0));
}

}  // namespace systole

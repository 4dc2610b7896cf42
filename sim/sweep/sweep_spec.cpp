#include "sim/sweep/sweep_spec.h"

#include <fmt/format.h>

#include <toml++/toml.h>
#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "base/error.h"

namespace systole {

namespace {

constexpr std::uint64_t kMaxPoints = 10'000'000;  // a sweep larger than this is a typo

std::string At(const std::string& file, const toml::node& node) {
  return Where(file, node.source().begin.line);
}

// A TOML value as it would be written on the command line.
std::string ValueText(const toml::node& node, const std::string& where, const std::string& key) {
  if (const auto* i = node.as_integer()) return std::to_string(i->get());
  if (const auto* f = node.as_floating_point()) return fmt::format("{}", f->get());
  if (const auto* s = node.as_string()) return s->get();
  if (const auto* b = node.as_boolean()) return b->get() ? "true" : "false";
  throw InputError(fmt::format("{}: '{}': expected a number, string or boolean", where, key));
}

double NumberOf(const toml::node& node, const std::string& where, const std::string& key) {
  if (const auto* i = node.as_integer()) return static_cast<double>(i->get());
  if (const auto* f = node.as_floating_point()) return f->get();
  throw InputError(fmt::format("{}: '{}': expected a number", where, key));
}

// Numbers of a range: integers print as integers when every bound is an integer.
std::string NumberText(double v, bool integral) {
  if (integral) return std::to_string(static_cast<long long>(std::llround(v)));
  return fmt::format("{}", v);
}

std::vector<std::string> AxisValues(const toml::table& axis, const std::string& file,
                                    const std::string& name) {
  const std::string where = At(file, axis);
  int forms = 0;
  std::vector<std::string> out;
  if (const toml::array* values = axis["values"].as_array()) {
    ++forms;
    for (const toml::node& v : *values) out.push_back(ValueText(v, At(file, v), name + ".values"));
    if (out.empty()) throw InputError(where + ": axis '" + name + "': 'values' is empty");
  }
  if (const toml::array* range = axis["range"].as_array()) {
    ++forms;
    if (range->size() != 3) {
      throw InputError(where + ": axis '" + name +
                       "': 'range' expects [start, stop, step] (stop inclusive)");
    }
    const double start = NumberOf(*range->get(0), where, name + ".range");
    const double stop = NumberOf(*range->get(1), where, name + ".range");
    const double step = NumberOf(*range->get(2), where, name + ".range");
    const bool integral =
        range->get(0)->is_integer() && range->get(1)->is_integer() && range->get(2)->is_integer();
    if (!(step > 0) || !(stop >= start) || !std::isfinite(start) || !std::isfinite(stop)) {
      throw InputError(where + ": axis '" + name +
                       "': 'range' expects start <= stop and a positive step");
    }
    const double count = std::floor((stop - start) / step + 1e-9) + 1;
    if (count > static_cast<double>(kMaxPoints)) {
      throw InputError(fmt::format("{}: axis '{}': 'range' gives {} values (limit {})", where, name,
                                   count, kMaxPoints));
    }
    for (std::uint64_t i = 0; i < static_cast<std::uint64_t>(count); ++i) {
      out.push_back(NumberText(start + step * static_cast<double>(i), integral));
    }
  }
  if (const toml::array* range = axis["log_range"].as_array()) {
    ++forms;
    if (range->size() != 3 || !range->get(2)->is_integer()) {
      throw InputError(where + ": axis '" + name +
                       "': 'log_range' expects [start, stop, points] with an integer count");
    }
    const double start = NumberOf(*range->get(0), where, name + ".log_range");
    const double stop = NumberOf(*range->get(1), where, name + ".log_range");
    const std::int64_t points = range->get(2)->as_integer()->get();
    if (!(start > 0) || !(stop >= start) || points < 1 ||
        static_cast<std::uint64_t>(points) > kMaxPoints || !std::isfinite(stop)) {
      throw InputError(where + ": axis '" + name +
                       "': 'log_range' expects 0 < start <= stop and 1 <= points");
    }
    const bool integral = range->get(0)->is_integer() && range->get(1)->is_integer();
    std::string last;
    for (std::int64_t i = 0; i < points; ++i) {
      const double f = points == 1 ? 0.0 : static_cast<double>(i) / static_cast<double>(points - 1);
      const std::string v = NumberText(start * std::pow(stop / start, f), integral);
      if (v != last) out.push_back(v);  // integer rounding can repeat a value
      last = v;
    }
  }
  if (forms != 1) {
    throw InputError(where + ": axis '" + name +
                     "': give exactly one of 'values', 'range' or 'log_range'");
  }
  return out;
}

std::vector<std::string> StringList(const toml::node* node, const std::string& file,
                                    const std::string& key) {
  std::vector<std::string> out;
  if (node == nullptr) return out;
  const toml::array* arr = node->as_array();
  if (arr == nullptr) {
    throw InputError(At(file, *node) + ": '" + key + "': expected an array of strings");
  }
  for (const toml::node& item : *arr) {
    const auto* s = item.as_string();
    if (s == nullptr) {
      throw InputError(At(file, item) + ": '" + key + "': expected an array of strings");
    }
    out.push_back(s->get());
  }
  return out;
}

void RejectUnknownKeys(const toml::table& table, const std::set<std::string>& known,
                       const std::string& file, const std::string& table_name) {
  for (const auto& [key, node] : table) {
    if (known.count(std::string(key.str())) == 0) {
      std::string list;
      for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
      throw InputError(fmt::format("{}: unknown key '{}{}' (expected one of {})", At(file, node),
                                   table_name.empty() ? "" : table_name + ".", key.str(), list));
    }
  }
}

}  // namespace

SweepSpec LoadSweepSpec(const std::string& path) {
  SweepSpec spec;
  spec.path = path;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw InputError(path + ": is a directory, expected a sweep spec (.toml)");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open sweep spec");
  std::stringstream text;
  text << in.rdbuf();
  if (text.str().size() > (1u << 20)) {
    throw InputError(path + ": sweep spec larger than 1 MiB");
  }
  toml::table root;
  try {
    root = toml::parse(text.str(), path);
  } catch (const toml::parse_error& err) {
    throw InputError(fmt::format("{}: {}", Where(path, err.source().begin.line),
                                 std::string(err.description())));
  }
  RejectUnknownKeys(root, {"command", "args", "axis", "sampling", "constraints", "pareto"}, path,
                    "");
  const auto* command = root["command"].as_string();
  static const std::set<std::string> kCommands = {"run", "kernel", "tco", "collective", "gemm"};
  if (command == nullptr || kCommands.count(command->get()) == 0) {
    throw InputError(Where(path, command ? command->source().begin.line : 0) +
                     ": 'command' expects one of run, kernel, tco, collective, gemm");
  }
  spec.command = command->get();
  spec.args = StringList(root.get("args"), path, "args");
  for (const std::string& a : spec.args) {
    if (a == "--out" || a == "--json" || a == "--trace") {
      throw InputError(path + ": 'args': '" + a + "' is set by the sweep itself");
    }
  }

  const toml::array* axes = root["axis"].as_array();
  if (axes == nullptr || axes->empty()) {
    throw InputError(path + ": expected at least one [[axis]] table");
  }
  std::set<std::string> seen;
  for (const toml::node& node : *axes) {
    const toml::table* axis = node.as_table();
    if (axis == nullptr) throw InputError(At(path, node) + ": 'axis' expects [[axis]] tables");
    RejectUnknownKeys(*axis, {"param", "set", "option", "values", "range", "log_range"}, path,
                      "axis");
    SweepAxis a;
    int kinds = 0;
    if (const auto* p = (*axis)["param"].as_string()) a = {AxisKind::kParam, p->get(), {}}, ++kinds;
    if (const auto* s = (*axis)["set"].as_string()) a = {AxisKind::kSet, s->get(), {}}, ++kinds;
    if (const auto* o = (*axis)["option"].as_string()) {
      a = {AxisKind::kOption, o->get(), {}}, ++kinds;
      if (a.key.rfind("--", 0) != 0 || a.key.size() < 3) {
        throw InputError(At(path, *axis) + ": axis option '" + a.key +
                         "': expected a long option such as --arch");
      }
    }
    if (kinds != 1 || a.key.empty()) {
      throw InputError(At(path, *axis) +
                       ": an axis names exactly one of 'param', 'set' or 'option'");
    }
    if (!seen.insert(a.key).second) {
      throw InputError(At(path, *axis) + ": axis '" + a.key + "' is given twice");
    }
    a.values = AxisValues(*axis, path, a.key);
    for (const std::string& v : a.values) {
      if (v.find_first_of("\n\r") != std::string::npos || v.empty()) {
        throw InputError(At(path, *axis) + ": axis '" + a.key +
                         "': values must be non-empty single-line text");
      }
    }
    spec.axes.push_back(std::move(a));
  }

  if (const toml::table* sampling = root["sampling"].as_table()) {
    RejectUnknownKeys(*sampling, {"method", "points", "seed"}, path, "sampling");
    const std::string method = sampling->get("method") && sampling->get("method")->as_string()
                                   ? sampling->get("method")->as_string()->get()
                                   : "grid";
    if (method == "grid") {
      spec.sampling = SamplingMethod::kGrid;
    } else if (method == "random") {
      spec.sampling = SamplingMethod::kRandom;
    } else if (method == "lhs") {
      spec.sampling = SamplingMethod::kLatinHypercube;
    } else {
      throw InputError(At(path, *sampling) +
                       ": 'sampling.method' expects grid, random or lhs, got '" + method + "'");
    }
    if (const toml::node* points = sampling->get("points")) {
      const auto* i = points->as_integer();
      if (i == nullptr || i->get() < 1 || static_cast<std::uint64_t>(i->get()) > kMaxPoints) {
        throw InputError(fmt::format("{}: 'sampling.points' expects an integer in [1, {}]",
                                     At(path, *points), kMaxPoints));
      }
      spec.sample_points = static_cast<std::uint64_t>(i->get());
    }
    if (const toml::node* seed = sampling->get("seed")) {
      const auto* i = seed->as_integer();
      if (i == nullptr || i->get() < 0) {
        throw InputError(At(path, *seed) + ": 'sampling.seed' expects an integer >= 0");
      }
      spec.seed = static_cast<std::uint64_t>(i->get());
    }
    if (spec.sampling != SamplingMethod::kGrid && spec.sample_points == 0) {
      throw InputError(At(path, *sampling) + ": 'sampling.points' is required for " + method);
    }
  }
  spec.constraints = StringList(root.get("constraints"), path, "constraints");
  if (const toml::table* pareto = root["pareto"].as_table()) {
    RejectUnknownKeys(*pareto, {"minimize", "maximize"}, path, "pareto");
    spec.minimize = StringList(pareto->get("minimize"), path, "pareto.minimize");
    spec.maximize = StringList(pareto->get("maximize"), path, "pareto.maximize");
  }
  // Check the constraints once against the first value of every axis, so a typo fails
  // before any point runs.
  std::map<std::string, std::string> first;
  for (const SweepAxis& a : spec.axes) first[a.key] = a.values.front();
  for (const std::string& c : spec.constraints) {
    (void)EvaluateConstraint(c, first, path + ": constraint '" + c + "'");
  }
  return spec;
}

namespace {

SweepPoint MakePoint(const SweepSpec& spec, std::uint64_t index,
                     const std::vector<std::size_t>& choice) {
  SweepPoint p;
  p.index = index;
  p.argv.push_back(spec.command);
  p.argv.insert(p.argv.end(), spec.args.begin(), spec.args.end());
  for (std::size_t a = 0; a < spec.axes.size(); ++a) {
    const SweepAxis& axis = spec.axes[a];
    const std::string& v = axis.values[choice[a]];
    p.inputs[axis.key] = v;
    switch (axis.kind) {
      case AxisKind::kParam:
        p.argv.push_back("-p");
        p.argv.push_back(axis.key + "=" + v);
        break;
      case AxisKind::kSet:
        p.argv.push_back("--set");
        p.argv.push_back(axis.key + "=" + v);
        break;
      case AxisKind::kOption:
        p.argv.push_back(axis.key);
        p.argv.push_back(v);
        break;
    }
  }
  return p;
}

}  // namespace

std::vector<SweepPoint> ExpandSweep(const SweepSpec& spec) {
  std::vector<std::vector<std::size_t>> choices;
  if (spec.sampling == SamplingMethod::kGrid) {
    double total = 1;
    for (const SweepAxis& a : spec.axes) total *= static_cast<double>(a.values.size());
    if (total > static_cast<double>(kMaxPoints)) {
      throw InputError(
          fmt::format("{}: the grid has {} points (limit {}); use sampling.method "
                      "= \"random\" or \"lhs\" with sampling.points",
                      spec.path, total, kMaxPoints));
    }
    std::vector<std::size_t> c(spec.axes.size(), 0);
    for (std::uint64_t i = 0; i < static_cast<std::uint64_t>(total); ++i) {
      choices.push_back(c);
      // The last axis varies fastest.
      for (std::size_t a = spec.axes.size(); a-- > 0;) {
        if (++c[a] < spec.axes[a].values.size()) break;
        c[a] = 0;
      }
    }
  } else {
    std::mt19937_64 rng(spec.seed);
    const std::uint64_t n = spec.sample_points;
    if (spec.sampling == SamplingMethod::kRandom) {
      for (std::uint64_t i = 0; i < n; ++i) {
        std::vector<std::size_t> c;
        for (const SweepAxis& a : spec.axes)
          c.push_back(static_cast<std::size_t>(rng() % a.values.size()));
        choices.push_back(c);
      }
    } else {
      // Latin hypercube: each axis is cut into n strata, each stratum used once, strata
      // paired across axes by independent permutations; a stratum maps to the value whose
      // share of [0, 1) it covers.
      choices.assign(n, std::vector<std::size_t>(spec.axes.size(), 0));
      for (std::size_t a = 0; a < spec.axes.size(); ++a) {
        std::vector<std::uint64_t> perm(n);
        for (std::uint64_t i = 0; i < n; ++i) perm[i] = i;
        for (std::uint64_t i = n; i > 1; --i) std::swap(perm[i - 1], perm[rng() % i]);
        const std::size_t values = spec.axes[a].values.size();
        for (std::uint64_t i = 0; i < n; ++i) {
          choices[i][a] = static_cast<std::size_t>((perm[i] * values) / n);
        }
      }
    }
  }
  std::vector<SweepPoint> points;
  for (std::uint64_t i = 0; i < choices.size(); ++i) {
    SweepPoint p = MakePoint(spec, i, choices[i]);
    bool ok = true;
    for (const std::string& c : spec.constraints) {
      if (!EvaluateConstraint(c, p.inputs, spec.path + ": constraint '" + c + "'")) {
        ok = false;
        break;
      }
    }
    if (ok) points.push_back(std::move(p));
  }
  return points;
}

std::string SweepId(const SweepSpec& spec) {
  // FNV-1a over a canonical text of the spec (stable across platforms and runs).
  std::string text = spec.command + "\n";
  for (const std::string& a : spec.args) text += "arg " + a + "\n";
  for (const SweepAxis& a : spec.axes) {
    text += fmt::format("axis {} {}", static_cast<int>(a.kind), a.key);
    for (const std::string& v : a.values) text += " " + v;
    text += "\n";
  }
  text += fmt::format("sampling {} {} {}\n", static_cast<int>(spec.sampling), spec.sample_points,
                      spec.seed);
  for (const std::string& c : spec.constraints) text += "constraint " + c + "\n";
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char ch : text) {
    h ^= ch;
    h *= 1099511628211ull;
  }
  return fmt::format("{:016x}", h);
}

// ---- constraint expressions -----------------------------------------------------------
// Grammar: or := and ('||' and)*; and := cmp ('&&' cmp)*; cmp := sum (op sum)?;
// sum := prod (('+'|'-') prod)*; prod := unary (('*'|'/') unary)*;
// unary := '-' unary | '(' or ')' | number | key. Booleans are 1 and 0.

namespace {

class ConstraintParser {
 public:
  ConstraintParser(const std::string& text, const std::map<std::string, std::string>& inputs,
                   const std::string& where)
      : s_(text), inputs_(inputs), where_(where) {}

  double Parse() {
    const double v = Or();
    Skip();
    if (pos_ != s_.size()) Fail("unexpected '" + s_.substr(pos_, 1) + "'");
    return v;
  }

 private:
  [[noreturn]] void Fail(const std::string& what) const {
    throw InputError(fmt::format("{}: {} at column {}", where_, what, pos_ + 1));
  }
  void Skip() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  bool Eat(const std::string& tok) {
    Skip();
    if (s_.compare(pos_, tok.size(), tok) == 0) {
      pos_ += tok.size();
      return true;
    }
    return false;
  }
  double Or() {
    double v = And();
    while (Eat("||")) {
      const double r = And();
      v = (v != 0 || r != 0) ? 1 : 0;
    }
    return v;
  }
  double And() {
    double v = Cmp();
    while (Eat("&&")) {
      const double r = Cmp();
      v = (v != 0 && r != 0) ? 1 : 0;
    }
    return v;
  }
  double Cmp() {
    const double l = Sum();
    for (const char* op : {"<=", ">=", "==", "!=", "<", ">"}) {
      if (Eat(op)) {
        const double r = Sum();
        const std::string o = op;
        if (o == "<=") return l <= r;
        if (o == ">=") return l >= r;
        if (o == "==") return l == r;
        if (o == "!=") return l != r;
        if (o == "<") return l < r;
        return l > r;
      }
    }
    return l;
  }
  double Sum() {
    double v = Prod();
    for (;;) {
      Skip();
      if (pos_ < s_.size() && s_[pos_] == '+') {
        ++pos_;
        v += Prod();
      } else if (pos_ < s_.size() && s_[pos_] == '-') {
        ++pos_;
        v -= Prod();
      } else {
        return v;
      }
    }
  }
  double Prod() {
    double v = Unary();
    for (;;) {
      Skip();
      if (pos_ < s_.size() && s_[pos_] == '*') {
        ++pos_;
        v *= Unary();
      } else if (pos_ < s_.size() && s_[pos_] == '/') {
        ++pos_;
        const double d = Unary();
        if (d == 0) Fail("division by zero");
        v /= d;
      } else {
        return v;
      }
    }
  }
  double Unary() {
    Skip();
    if (pos_ >= s_.size()) Fail("expression ends early");
    if (s_[pos_] == '-') {
      ++pos_;
      return -Unary();
    }
    if (s_[pos_] == '(') {
      ++pos_;
      const double v = Or();
      if (!Eat(")")) Fail("expected ')'");
      return v;
    }
    const std::size_t start = pos_;
    if (std::isdigit(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '.') {
      while (pos_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[pos_])) ||
                                  s_[pos_] == '.' || s_[pos_] == 'e' || s_[pos_] == 'E' ||
                                  ((s_[pos_] == '+' || s_[pos_] == '-') &&
                                   (s_[pos_ - 1] == 'e' || s_[pos_ - 1] == 'E')))) {
        ++pos_;
      }
      return ToNumber(s_.substr(start, pos_ - start), "number");
    }
    while (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) ||
                                s_[pos_] == '_' || s_[pos_] == '.')) {
      ++pos_;
    }
    // A key may start with "--" (an option axis).
    if (pos_ == start && s_.compare(pos_, 2, "--") == 0) {
      pos_ += 2;
      while (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) ||
                                  s_[pos_] == '_' || s_[pos_] == '-')) {
        ++pos_;
      }
    }
    if (pos_ == start) Fail("expected a number, a key or '('");
    const std::string key = s_.substr(start, pos_ - start);
    const auto it = inputs_.find(key);
    if (it == inputs_.end()) Fail("'" + key + "' is not an axis of the sweep");
    return ToNumber(it->second, "value of '" + key + "'");
  }
  double ToNumber(const std::string& text, const std::string& what) const {
    std::size_t used = 0;
    double v = 0;
    try {
      v = std::stod(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != text.size() || !std::isfinite(v)) Fail(what + " '" + text + "' is not a number");
    return v;
  }

  const std::string& s_;
  const std::map<std::string, std::string>& inputs_;
  const std::string& where_;
  std::size_t pos_ = 0;
};

}  // namespace

bool EvaluateConstraint(const std::string& expression,
                        const std::map<std::string, std::string>& inputs,
                        const std::string& where) {
  return ConstraintParser(expression, inputs, where).Parse() != 0;
}

}  // namespace systole

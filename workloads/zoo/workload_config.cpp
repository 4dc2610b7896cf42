#include "workloads/zoo/workload_config.h"

#include <fmt/format.h>

#include <toml++/toml.h>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "base/error.h"
#include "base/input_file.h"
#include "base/number_parse.h"
#include "base/toml_guard.h"

namespace systole {

const char* ModelFamilyName(ModelFamily family) {
  switch (family) {
    case ModelFamily::kGpt:
      return "gpt";
    case ModelFamily::kLlama:
      return "llama";
    case ModelFamily::kBert:
      return "bert";
    case ModelFamily::kResnet:
      return "resnet";
    case ModelFamily::kMlp:
      return "mlp";
  }
  return "?";
}

const char* PrecisionName(Precision precision) {
  return precision == Precision::kFp32 ? "fp32" : "bf16_mixed";
}

const char* OptimizerName(OptimizerKind optimizer) {
  switch (optimizer) {
    case OptimizerKind::kAdamW:
      return "adamw";
    case OptimizerKind::kLamb:
      return "lamb";
    case OptimizerKind::kSgdMomentum:
      return "sgd_momentum";
  }
  return "?";
}

const char* RecomputeName(Recompute recompute) {
  switch (recompute) {
    case Recompute::kNone:
      return "none";
    case Recompute::kSelective:
      return "selective";
    case Recompute::kFull:
      return "full";
  }
  return "?";
}

namespace {

constexpr std::uint64_t kMaxDim = std::uint64_t{1} << 40;  // sanity bound on any size
constexpr std::uint64_t kMaxLayers = 1024;  // transformer blocks, MLP layers (see ReadModel)

// Reads the keys of one TOML table, remembering which were read, so that the rest can
// be rejected as unknown.
class TableReader {
 public:
  // key_sources: leaf keys set by overrides -> how errors name them.
  TableReader(const toml::table* table, std::string table_name, std::string file,
              std::int64_t table_line, std::map<std::string, std::string> key_sources)
      : table_(table),
        name_(std::move(table_name)),
        file_(std::move(file)),
        table_line_(table_line),
        key_sources_(std::move(key_sources)) {}

  bool Has(const std::string& key) const { return table_ && table_->contains(key); }
  std::int64_t LineOf(const std::string& key) const {
    if (Has(key)) return (*table_)[key].node()->source().begin.line;
    return table_line_;
  }
  std::string WhereKey(const std::string& key) const {
    auto it = key_sources_.find(key);
    if (it != key_sources_.end()) return it->second;
    return Where(file_, LineOf(key));
  }
  std::string Key(const std::string& key) const { return name_ + "." + key; }

  std::optional<std::uint64_t> Int(const std::string& key, std::uint64_t min, std::uint64_t max) {
    used_.insert(key);
    if (!Has(key)) return std::nullopt;
    const toml::node& node = *(*table_)[key].node();
    const auto expected = fmt::format("an integer in [{}, {}]", min, max);
    const auto* v = node.as_integer();
    if (v == nullptr) {
      throw InputError(
          fmt::format("{}: {} has the wrong type: expected {}", WhereKey(key), Key(key), expected));
    }
    const std::int64_t x = v->get();
    if (x < 0 || static_cast<std::uint64_t>(x) < min || static_cast<std::uint64_t>(x) > max) {
      throw InputError(
          fmt::format("{}: {} = {} is invalid: expected {}", WhereKey(key), Key(key), x, expected));
    }
    return static_cast<std::uint64_t>(x);
  }
  std::uint64_t RequiredInt(const std::string& key, std::uint64_t min = 1,
                            std::uint64_t max = kMaxDim) {
    std::optional<std::uint64_t> v = Int(key, min, max);
    if (!v) throw Missing(key, fmt::format("an integer in [{}, {}]", min, max));
    return *v;
  }
  bool Bool(const std::string& key, bool fallback) {
    used_.insert(key);
    if (!Has(key)) return fallback;
    const auto* v = (*table_)[key].node()->as_boolean();
    if (v == nullptr) {
      throw InputError(fmt::format("{}: {} has the wrong type: expected true or false",
                                   WhereKey(key), Key(key)));
    }
    return v->get();
  }
  std::optional<std::string> String(const std::string& key) {
    used_.insert(key);
    if (!Has(key)) return std::nullopt;
    const auto* v = (*table_)[key].node()->as_string();
    if (v == nullptr) {
      throw InputError(
          fmt::format("{}: {} has the wrong type: expected a string", WhereKey(key), Key(key)));
    }
    return v->get();
  }
  // Index of the value in `choices`.
  std::optional<std::size_t> Choice(const std::string& key,
                                    const std::vector<std::string>& choices) {
    const std::string expected = ChoiceList(choices);
    used_.insert(key);
    if (!Has(key)) return std::nullopt;
    const auto* v = (*table_)[key].node()->as_string();
    if (v == nullptr) {
      throw InputError(
          fmt::format("{}: {} has the wrong type: expected {}", WhereKey(key), Key(key), expected));
    }
    for (std::size_t i = 0; i < choices.size(); ++i) {
      if (choices[i] == v->get()) return i;
    }
    throw InputError(fmt::format("{}: {} = '{}' is invalid: expected {}", WhereKey(key), Key(key),
                                 v->get(), expected));
  }
  std::vector<std::uint64_t> IntArray(const std::string& key, std::size_t min_length,
                                      std::size_t max_length) {
    used_.insert(key);
    const std::string expected =
        fmt::format("an array of {} to {} integers in [1, {}]", min_length, max_length, kMaxDim);
    if (!Has(key)) throw Missing(key, expected);
    const auto* arr = (*table_)[key].node()->as_array();
    if (arr == nullptr || arr->size() < min_length || arr->size() > max_length) {
      throw InputError(
          fmt::format("{}: {} is invalid: expected {}", WhereKey(key), Key(key), expected));
    }
    std::vector<std::uint64_t> out;
    for (const toml::node& item : *arr) {
      const auto* v = item.as_integer();
      if (v == nullptr || v->get() < 1 || static_cast<std::uint64_t>(v->get()) > kMaxDim) {
        throw InputError(fmt::format(
            "{}: {} is invalid: expected {}",
            key_sources_.count(key) ? WhereKey(key) : Where(file_, item.source().begin.line),
            Key(key), expected));
      }
      out.push_back(static_cast<std::uint64_t>(v->get()));
    }
    return out;
  }
  // Rejects every key not read; `context` explains which keys are valid here.
  void RejectUnknown(const std::string& context) const {
    if (table_ == nullptr) return;
    for (const auto& [k, node] : *table_) {
      const std::string key(k.str());
      if (used_.count(key) != 0) continue;
      std::vector<std::string> valid(used_.begin(), used_.end());
      std::string list;
      for (const std::string& v : valid) list += (list.empty() ? "" : ", ") + v;
      const std::string where =
          key_sources_.count(key) ? WhereKey(key) : Where(file_, node.source().begin.line);
      throw InputError(fmt::format("{}: unknown key '{}' {}: expected one of {}", where, Key(key),
                                   context, list));
    }
  }
  InputError Missing(const std::string& key, const std::string& expected) const {
    return InputError(fmt::format("{}: [{}] is missing the key '{}': expected {}",
                                  Where(file_, table_line_), name_, key, expected));
  }
  InputError Bad(const std::string& key, const std::string& message) const {
    return InputError(fmt::format("{}: {} {}", WhereKey(key), Key(key), message));
  }

  static std::string ChoiceList(const std::vector<std::string>& choices) {
    std::string out = "one of ";
    for (std::size_t i = 0; i < choices.size(); ++i) {
      out += (i ? ", " : "") + ("'" + choices[i] + "'");
    }
    return out;
  }

 private:
  const toml::table* table_;
  std::string name_;
  std::string file_;
  std::int64_t table_line_;
  std::set<std::string> used_;
  std::map<std::string, std::string> key_sources_;
};

std::string Stem(const std::string& source) {
  return std::filesystem::path(source).stem().string();
}

void ReadModel(TableReader& r, ModelConfig& m) {
  const auto family = r.Choice("family", {"gpt", "llama", "bert", "resnet", "mlp"});
  if (!family) throw r.Missing("family", "one of 'gpt', 'llama', 'bert', 'resnet', 'mlp'");
  m.family = static_cast<ModelFamily>(*family);
  if (auto name = r.String("name")) m.name = *name;
  if (m.is_transformer()) {
    m.vocab = r.RequiredInt("vocab");
    m.hidden = r.RequiredInt("hidden");
    // The deepest published transformers have 126 blocks (Llama 3.1 405B, "The Llama 3 Herd
    // of Models", https://arxiv.org/abs/2407.21783) and 118 (PaLM 540B,
    // https://arxiv.org/abs/2204.02311); kMaxLayers leaves 8x room while bounding the graph
    // built before the footprint check (issue 14: 60000 layers took gigabytes).
    m.layers = r.RequiredInt("layers", 1, kMaxLayers);
    m.heads = r.RequiredInt("heads");
    m.ffn = r.RequiredInt("ffn");
    m.fused_attention = r.Bool("fused_attention", false);
    if (m.hidden % m.heads != 0) {
      throw r.Bad("heads", fmt::format("= {} does not divide model.hidden = {}: expected a divisor "
                                       "of the hidden size (head dimension = hidden / heads)",
                                       m.heads, m.hidden));
    }
    if (m.family == ModelFamily::kLlama) {
      m.kv_heads = r.RequiredInt("kv_heads");
      if (m.heads % m.kv_heads != 0) {
        throw r.Bad("kv_heads", fmt::format("= {} does not divide model.heads = {}: expected a "
                                            "divisor of the number of query heads",
                                            m.kv_heads, m.heads));
      }
      m.tie_embeddings = r.Bool("tie_embeddings", false);
    } else {
      m.kv_heads = m.heads;
      m.max_positions = r.RequiredInt("max_positions");
      if (m.family == ModelFamily::kGpt) {
        m.tie_embeddings = r.Bool("tie_embeddings", true);
      } else {
        m.type_vocab = r.RequiredInt("type_vocab");
        m.tie_embeddings = true;  // BERT's masked-LM decoder shares the word embeddings
      }
    }
  }
  if (m.family == ModelFamily::kResnet) {
    m.depth = r.RequiredInt("depth", 18, 152);
    if (m.depth != 18 && m.depth != 34 && m.depth != 50 && m.depth != 101 && m.depth != 152) {
      throw r.Bad("depth",
                  fmt::format("= {} is invalid: expected 18, 34, 50, 101 or 152", m.depth));
    }
    m.image_size = r.RequiredInt("image_size", 32, 65536);
    m.channels = r.Int("channels", 1, 65536).value_or(3);
    m.classes = r.RequiredInt("classes");
  } else if (m.family == ModelFamily::kMlp) {
    m.layer_sizes = r.IntArray("layer_sizes", 2, kMaxLayers + 1);
    const auto act = r.Choice("activation", {"relu", "gelu"});
    m.activation = act ? (*act == 0 ? "relu" : "gelu") : "relu";
    m.bias = r.Bool("bias", true);
  }
  r.RejectUnknown(fmt::format("for model.family = '{}'", ModelFamilyName(m.family)));
}

void ReadTraining(TableReader& r, const ModelConfig& m, TrainingConfig& t) {
  t.micro_batch = r.RequiredInt("micro_batch", 1, 1 << 24);
  t.grad_accum_steps = r.Int("grad_accum_steps", 1, 1 << 24).value_or(1);
  t.global_batch = r.Int("global_batch", 1, 1ull << 40).value_or(0);
  if (m.is_transformer()) {
    const std::uint64_t fallback = m.family == ModelFamily::kLlama ? 2048 : m.max_positions;
    t.sequence = r.Int("sequence", 1, 1 << 24).value_or(fallback);
    if (m.max_positions != 0 && t.sequence > m.max_positions) {
      throw r.Bad("sequence",
                  fmt::format("= {} is longer than model.max_positions = {}: expected at most {} "
                              "(the model has learned positions only that far)",
                              t.sequence, m.max_positions, m.max_positions));
    }
  } else {
    if (r.Has("sequence")) {
      throw r.Bad("sequence", fmt::format("does not apply to model.family = '{}': remove it "
                                          "(only transformer families have a sequence)",
                                          ModelFamilyName(m.family)));
    }
    t.sequence = 1;
  }
  if (auto p = r.Choice("precision", {"bf16_mixed", "fp32"})) {
    t.precision = static_cast<Precision>(*p);
  }
  if (auto o = r.Choice("optimizer", {"adamw", "lamb", "sgd_momentum"})) {
    t.optimizer = static_cast<OptimizerKind>(*o);
  }
  if (auto c = r.Choice("recompute", {"none", "selective", "full"})) {
    t.recompute = static_cast<Recompute>(*c);
  }
  if (t.recompute == Recompute::kSelective && !m.is_transformer()) {
    throw r.Bad("recompute", fmt::format("= 'selective' recomputes attention, which "
                                         "model.family = '{}' does not have: expected 'none' "
                                         "or 'full'",
                                         ModelFamilyName(m.family)));
  }
  t.stochastic_rounding = r.Bool("stochastic_rounding", false);
  if (t.stochastic_rounding && t.precision == Precision::kFp32) {
    throw r.Bad("stochastic_rounding",
                "= true needs training.precision = 'bf16_mixed' (fp32 weights are not rounded)");
  }
  r.RejectUnknown("in [training]");
}

}  // namespace

WorkloadConfig ParseWorkloadConfig(const std::string& toml_text, const std::string& source,
                                   const std::vector<std::string>& overrides) {
  CheckTomlBounds(toml_text, source, kMaxConfigFileBytes);
  toml::table root;
  try {
    root = toml::parse(toml_text, source);
  } catch (const toml::parse_error& err) {
    throw InputError(fmt::format("{}: TOML syntax error: {}",
                                 Where(source, err.source().begin.line),
                                 std::string(err.description())));
  }
  // Overrides replace or add keys of [model] and [training].
  std::map<std::string, std::map<std::string, std::string>> key_sources;  // table -> leaf
  for (const std::string& item : overrides) {
    const std::string label = "override '" + item + "'";
    const auto eq = item.find('=');
    const std::string key = item.substr(0, eq);
    const auto dot = key.find('.');
    const std::string table = dot == std::string::npos ? "" : key.substr(0, dot);
    const std::string leaf = dot == std::string::npos ? "" : key.substr(dot + 1);
    if (eq == std::string::npos || (table != "model" && table != "training") || leaf.empty() ||
        leaf.find('.') != std::string::npos) {
      throw InputError(label +
                       ": expected model.KEY=value or training.KEY=value, e.g. "
                       "training.micro_batch=8");
    }
    const std::string value = item.substr(eq + 1);
    if (value.find_first_of(std::string("\0\r\n", 3)) != std::string::npos) {
      throw InputError(label + ": the value holds a line break: expected one value on one line");
    }
    if (LooksNumeric(value)) {
      std::int64_t i = 0;
      double d = 0;
      std::string why_int, why_real;
      if (!ParseInteger(value, &i, &why_int) && !ParseReal(value, &d, &why_real)) {
        throw InputError(
            fmt::format("{}: the value {}: expected a decimal number such as 8 or "
                        "0.5",
                        label, why_real));
      }
    }
    CheckTomlBounds(value, label, kMaxConfigFileBytes);
    if (root[table].as_table() == nullptr) root.insert_or_assign(table, toml::table{});
    toml::table& t = *root[table].as_table();
    try {
      toml::table parsed = toml::parse("v = " + value, label);
      t.insert_or_assign(leaf, std::move(*parsed.get("v")));
    } catch (const toml::parse_error&) {
      t.insert_or_assign(leaf, value);  // a bare word: a string
    }
    key_sources[table][leaf] = label;
  }
  for (const auto& [k, node] : root) {
    const std::string key(k.str());
    if ((key != "model" && key != "training") || !node.is_table()) {
      throw InputError(
          fmt::format("{}: unknown key '{}': expected the tables [model] and "
                      "[training]",
                      Where(source, node.source().begin.line), key));
    }
  }
  const toml::table* model = root["model"].as_table();
  const toml::table* training = root["training"].as_table();
  if (model == nullptr) throw InputError(source + ": missing table [model]");
  if (training == nullptr) throw InputError(source + ": missing table [training]");

  WorkloadConfig config;
  config.source = source;
  config.model.name = Stem(source);
  TableReader mr(model, "model", source, model->source().begin.line, key_sources["model"]);
  ReadModel(mr, config.model);
  TableReader tr(training, "training", source, training->source().begin.line,
                 key_sources["training"]);
  ReadTraining(tr, config.model, config.training);
  auto source_of = [&](const char* key) {
    return key_sources["training"].count(key) != 0 ? 2 : training->contains(key) ? 1 : 0;
  };
  config.training.grad_accum_source = source_of("grad_accum_steps");
  config.training.global_batch_source = source_of("global_batch");
  return config;
}

WorkloadConfig LoadWorkloadConfig(const std::string& toml_path,
                                  const std::vector<std::string>& overrides) {
  const std::string text = ReadInputFile(toml_path, "workload file", kMaxConfigFileBytes);
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    throw InputError(toml_path +
                     ": workload file is empty: expected the tables [model] and "
                     "[training]");
  }
  return ParseWorkloadConfig(text, toml_path, overrides);
}

std::string WorkloadPresetPath(const std::string& name) {
  return std::string(SYSTOLE_SOURCE_DIR) + "/configs/workloads/" + name + ".toml";
}

std::vector<std::string> WorkloadPresetNames() {
  std::vector<std::string> names;
  const std::filesystem::path dir = std::string(SYSTOLE_SOURCE_DIR) + "/configs/workloads";
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".toml") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace systole

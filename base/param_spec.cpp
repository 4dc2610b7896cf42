#include "base/param_spec.h"

#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "base/error.h"
#include "base/number_parse.h"

namespace systole {

ParamSpec IntegerParam(std::string key, std::string unit, long long def, double min, double max,
                       std::string description) {
  ParamSpec p;
  p.key = std::move(key);
  p.type = ParamType::kInteger;
  p.unit = std::move(unit);
  p.default_value = std::to_string(def);
  p.min = min;
  p.max = max;
  p.description = std::move(description);
  return p;
}

ParamSpec FloatParam(std::string key, std::string unit, std::string def, double min, double max,
                     std::string description) {
  ParamSpec p = IntegerParam(std::move(key), std::move(unit), 0, min, max, std::move(description));
  p.type = ParamType::kFloat;
  p.default_value = std::move(def);
  return p;
}

ParamSpec ChoiceParam(std::string key, std::string def, std::vector<std::string> choices,
                      std::string description) {
  ParamSpec p;
  p.key = std::move(key);
  p.type = ParamType::kChoice;
  p.default_value = std::move(def);
  p.choices = std::move(choices);
  p.description = std::move(description);
  return p;
}

ParamSpec BoolParam(std::string key, bool def, std::string description) {
  ParamSpec p;
  p.key = std::move(key);
  p.type = ParamType::kBool;
  p.default_value = def ? "true" : "false";
  p.description = std::move(description);
  return p;
}

ParamSpec StringParam(std::string key, std::string def, std::string description) {
  ParamSpec p;
  p.key = std::move(key);
  p.type = ParamType::kString;
  p.default_value = std::move(def);
  p.description = std::move(description);
  return p;
}

std::string ParamSpec::Expectation() const {
  switch (type) {
    case ParamType::kInteger:
      return fmt::format("an integer in [{}, {}]", static_cast<long long>(min),
                         static_cast<long long>(max));
    case ParamType::kFloat:
      return fmt::format("a number in [{}, {}]", min, max);
    case ParamType::kChoice: {
      std::string out = "one of ";
      for (std::size_t i = 0; i < choices.size(); ++i) out += (i ? ", " : "") + choices[i];
      return out;
    }
    case ParamType::kString:
      return "a string";
    case ParamType::kBool:
      return "true or false";
  }
  return "";
}

std::string ValidateParamValue(const ParamSpec& spec, const std::string& text,
                               const std::string& where) {
  auto bad = [&](const std::string& why = "") {
    return InputError(fmt::format("{}: {} = '{}' is invalid{}: expected {}", where, spec.key, text,
                                  why.empty() ? "" : " (" + why + ")", spec.Expectation()));
  };
  switch (spec.type) {
    case ParamType::kInteger: {
      std::int64_t v = 0;
      std::string why;
      if (!ParseInteger(text, &v, &why)) throw bad("it " + why);
      if (static_cast<double>(v) < spec.min || static_cast<double>(v) > spec.max) throw bad();
      return std::to_string(v);
    }
    case ParamType::kFloat: {
      double v = 0;
      std::string why;
      if (!ParseReal(text, &v, &why)) throw bad("it " + why);
      if (v < spec.min || v > spec.max) throw bad();
      return fmt::format("{}", v);
    }
    case ParamType::kChoice:
      for (const std::string& c : spec.choices) {
        if (c == text) return text;
      }
      throw bad();
    case ParamType::kString:
      return text;
    case ParamType::kBool:
      if (text == "true" || text == "false") return text;
      throw bad();
  }
  throw bad();
}

}  // namespace systole

#include "sim/config/arch_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "base/error.h"
#include "sim/config/param_registry.h"

namespace systole {
namespace {

std::string WriteTemp(const std::string& name, const std::string& text) {
  const std::string path = testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

std::string ErrorOf(const std::string& path, const std::vector<std::string>& overrides = {}) {
  try {
    LoadArchConfig(path, overrides);
  } catch (const InputError& e) {
    return e.what();
  }
  return "<no error>";
}

TEST(ArchConfig, DefaultsComeFromTheRegistry) {
  ArchConfig c = LoadArchConfig("");
  EXPECT_EQ(c.core.tensor.array.rows, 128u);
  EXPECT_EQ(c.core.tensor.array.cols, 128u);
  EXPECT_EQ(c.core.tensor.dataflow, Dataflow::kWeightStationary);
  EXPECT_EQ(c.core.tensor.bytes_per_element, 2u);  // bf16
  EXPECT_DOUBLE_EQ(c.core.clock_ghz, 1.4);
  EXPECT_EQ(c.sources.at("core.tensor.rows"), "default");
}

TEST(ArchConfig, BasePresetEqualsDefaults) {
  ArchConfig preset =
      LoadArchConfig(std::string(SYSTOLE_SOURCE_DIR) + "/configs/arch/systole-base.toml");
  EXPECT_EQ(preset.values, LoadArchConfig("").values);
}

TEST(ArchConfig, FileAndOverridesLayerInOrder) {
  const std::string path = WriteTemp("layer.toml", "[core.tensor]\nrows = 32\ncols = 16\n");
  ArchConfig c = LoadArchConfig(path, {"core.tensor.rows=64", "core.tensor.dataflow=os"});
  EXPECT_EQ(c.core.tensor.array.rows, 64u);  // -p wins over the file
  EXPECT_EQ(c.core.tensor.array.cols, 16u);  // file wins over the default
  EXPECT_EQ(c.core.tensor.dataflow, Dataflow::kOutputStationary);
  EXPECT_EQ(c.sources.at("core.tensor.cols"), path + ":3");
  EXPECT_EQ(c.sources.at("core.tensor.rows"), "-p");
}

TEST(ArchConfig, UnknownKeyNamesFileLineAndKey) {
  const std::string path = WriteTemp("unknown.toml", "[core.tensor]\nrows = 32\nrowz = 4\n");
  EXPECT_EQ(ErrorOf(path),
            path + ":3: unknown key 'core.tensor.rowz' (run `systole params` for the list)");
}

TEST(ArchConfig, OutOfRangeNamesTheValidRange) {
  const std::string path = WriteTemp("range.toml", "[core.tensor]\nrows = 0\n");
  EXPECT_EQ(ErrorOf(path), path +
                               ":2: core.tensor.rows = '0' is invalid: expected an integer in "
                               "[1, 65536]");
}

TEST(ArchConfig, WrongTypeIsRejected) {
  const std::string path = WriteTemp("type.toml", "[core.tensor]\nrows = \"many\"\n");
  EXPECT_THAT(ErrorOf(path), testing::HasSubstr(":2: core.tensor.rows has the wrong type"));
}

TEST(ArchConfig, SyntaxErrorNamesTheLine) {
  const std::string path = WriteTemp("syntax.toml", "[core]\nclock_ghz = = 2\n");
  EXPECT_THAT(ErrorOf(path), testing::StartsWith(path + ":2: TOML syntax error"));
}

TEST(ArchConfig, MissingFileIsAnError) {
  EXPECT_EQ(ErrorOf("/nonexistent/a.toml"),
            "/nonexistent/a.toml: cannot open architecture file: no such file");
}

TEST(ArchConfig, BadOverrides) {
  EXPECT_THAT(ErrorOf("", {"core.tensor.rows"}), testing::HasSubstr("expected key=value"));
  EXPECT_THAT(ErrorOf("", {"core.tensor.rows=12x"}),
              testing::HasSubstr("-p: core.tensor.rows = '12x' is invalid"));
  EXPECT_THAT(ErrorOf("", {"core.tensor.dataflow=rs"}),
              testing::HasSubstr("expected one of ws, os, is"));
  EXPECT_THAT(ErrorOf("", {"core.nope=1"}), testing::HasSubstr("unknown key 'core.nope'"));
  EXPECT_THAT(ErrorOf("", {"core.clock_ghz=nan"}), testing::HasSubstr("a number in"));
}

// Doubling the array: the scratchpad partitions (contraction rows) and accumulator
// partitions (one per column) follow when set with less precedence, else the error names
// the key and the value it needs.
TEST(ArchConfig, PartitionsFollowTheArraySize) {
  const ArchConfig c = LoadArchConfig("", {"core.tensor.rows=256", "core.tensor.cols=256"});
  EXPECT_EQ(c.core.scratchpad.partitions, 256u);
  EXPECT_EQ(c.core.accumulator.partitions, 256u);
  EXPECT_EQ(c.sources.at("core.scratchpad.partitions"), "derived from core.tensor.rows");
  EXPECT_EQ(c.values.at("core.accumulator.partitions"), "256");
  EXPECT_THAT(ErrorOf("", {"core.tensor.rows=256", "core.scratchpad.partitions=128"}),
              testing::HasSubstr("-p: core.tensor.rows = 256 needs core.scratchpad.partitions >= "
                                 "256 (it is 128, from -p): set core.scratchpad.partitions = 256"));
}

TEST(ArchConfig, ResolvedTomlRoundTrips) {
  ArchConfig c = LoadArchConfig("", {"core.tensor.cols=96"});
  const std::string path = WriteTemp("resolved.toml", ResolvedArchToml(c));
  EXPECT_EQ(LoadArchConfig(path).values, c.values);
}

TEST(ParamRegistry, EveryParamHasUnitOrChoicesAndDescription) {
  for (const ParamSpec& p : ArchParams()) {
    EXPECT_FALSE(p.description.empty()) << p.key;
    if (p.type == ParamType::kInteger || p.type == ParamType::kFloat) {
      EXPECT_FALSE(p.unit.empty()) << p.key;
      EXPECT_LE(p.min, p.max) << p.key;
    }
    // The default itself must validate.
    EXPECT_NO_THROW(LoadArchConfig("", {p.key + "=" + p.default_value})) << p.key;
  }
}

}  // namespace
}  // namespace systole

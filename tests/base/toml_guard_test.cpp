// TOML bounds checked before parsing (base/toml_guard.h): the 50,000-level dotted header of
// issue 14 is refused with a message, not a stack overflow.
#include "base/toml_guard.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/error.h"

namespace systole {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

std::string Repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

TEST(TomlGuard, RealConfigurationsPass) {
  EXPECT_NO_THROW(
      CheckTomlBounds("[core.tensor]\nrows = 128\nclock = 1.5\nx = [1.5, 2.5]\n"
                      "s = \"a.b.c.d\" # c.o.m.m.e.n.t\n",
                      "a.toml", 1 << 20));
  // Exactly the bound passes: 63 dots + the header bracket = 64.
  EXPECT_NO_THROW(CheckTomlBounds("[" + Repeat("a.", 63) + "a]\n", "a.toml", 1 << 20));
}

TEST(TomlGuard, DeepDottedHeaderRefusedWithLine) {
  const std::string deep = "# x\n\n[" + Repeat("a.", 50000) + "a]\n";  // issue 14: ~100 KB
  EXPECT_THAT([&] { CheckTomlBounds(deep, "deep.toml", 1 << 20); },
              ThrowsMessage<InputError>(HasSubstr("deep.toml:3: TOML nesting is deeper than 64")));
  EXPECT_THROW(CheckTomlBounds("[" + Repeat("a.", 64) + "a]\n", "a.toml", 1 << 20), InputError);
}

TEST(TomlGuard, DeepArraysInlineTablesAndDottedKeysRefused) {
  EXPECT_THROW(CheckTomlBounds("x = " + Repeat("[", 100000), "a.toml", 1 << 20), InputError);
  EXPECT_THROW(CheckTomlBounds("x = " + Repeat("{a=", 1000), "a.toml", 1 << 20), InputError);
  EXPECT_THROW(CheckTomlBounds(Repeat("a.", 1000) + "b = 1", "a.toml", 1 << 20), InputError);
}

TEST(TomlGuard, StringsAndCommentsDoNotCount) {
  EXPECT_NO_THROW(CheckTomlBounds("s = \"" + Repeat("[", 1000) + "\"\n# " + Repeat("{", 1000) +
                                      "\nm = '''" + Repeat("a.", 1000) + "'''\n",
                                  "a.toml", 1 << 20));
}

TEST(TomlGuard, SizeBound) {
  EXPECT_THAT([] { CheckTomlBounds(std::string(101, ' '), "big.toml", 100); },
              ThrowsMessage<InputError>(HasSubstr("big.toml: TOML text is larger than 100 bytes")));
}

}  // namespace
}  // namespace systole

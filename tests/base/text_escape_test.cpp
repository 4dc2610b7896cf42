// Printable messages and RFC 4180 CSV quoting (base/text_escape.h), with round trips.
#include "base/text_escape.h"

#include <gtest/gtest.h>

namespace systole {
namespace {

TEST(Printable, EscapesControlBytesBomAndInvalidUtf8) {
  EXPECT_EQ(Printable("plain text"), "plain text");
  EXPECT_EQ(Printable("a\nb\tc\r"), "a\\nb\\tc\\r");
  EXPECT_EQ(Printable(std::string("x\0y", 3)), "x\\x00y");
  EXPECT_EQ(Printable("\x1b[31mred"), "\\x1B[31mred");
  EXPECT_EQ(Printable("\xEF\xBB\xBF[model]"), "\\uFEFF[model]");
  EXPECT_EQ(Printable("caf\xC3\xA9"), "caf\xC3\xA9");  // valid UTF-8 passes through
  EXPECT_EQ(Printable("\xFF\xC3"), "\\xFF\\xC3");      // invalid / truncated UTF-8
  EXPECT_EQ(Printable("\xC0\xAF"), "\\xC0\\xAF");      // overlong '/'
  EXPECT_EQ(Printable("\x7f"), "\\x7F");
}

TEST(CsvField, QuotesOnlyWhenNeeded) {
  EXPECT_EQ(CsvField("layers.0.attn"), "layers.0.attn");
  EXPECT_EQ(CsvField("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvField("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(CsvField("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(CsvField(" padded"), "\" padded\"");
  EXPECT_EQ(CsvField("x", /*always_quote=*/true), "\"x\"");
  EXPECT_EQ(CsvField(""), "");
}

TEST(CsvField, RoundTripsThroughAnRfc4180Reader) {
  const std::vector<std::string> names = {"plain", "a,b", "q\"uote", "line\nbreak", "cr\r\nlf",
                                          "",      "\"",  ",,,",     " lead"};
  std::string text;
  for (const std::string& n : names) text += CsvField(n) + "," + CsvField(n, true) + "\n";
  const auto records = ParseCsv(text);
  ASSERT_EQ(records.size(), names.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    ASSERT_EQ(records[i].size(), 2u) << i;
    EXPECT_EQ(records[i][0], names[i]);
    EXPECT_EQ(records[i][1], names[i]);
  }
}

}  // namespace
}  // namespace systole

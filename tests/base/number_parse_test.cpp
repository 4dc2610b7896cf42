// One number grammar (base/number_parse.h): what is accepted and what is refused, with why.
#include "base/number_parse.h"

#include <gtest/gtest.h>

#include <cfloat>
#include <limits>

namespace systole {
namespace {

std::string WhyInteger(const std::string& text) {
  std::int64_t v = 0;
  std::string why;
  return ParseInteger(text, &v, &why) ? "ok" : why;
}

std::string WhyReal(const std::string& text) {
  double v = 0;
  std::string why;
  return ParseReal(text, &v, &why) ? "ok" : why;
}

TEST(NumberParse, IntegersAccepted) {
  std::int64_t v = 0;
  std::string why;
  ASSERT_TRUE(ParseInteger("64", &v, &why));
  EXPECT_EQ(v, 64);
  ASSERT_TRUE(ParseInteger("0", &v, &why));
  EXPECT_EQ(v, 0);
  ASSERT_TRUE(ParseInteger("-12", &v, &why));
  EXPECT_EQ(v, -12);
  ASSERT_TRUE(ParseInteger("9223372036854775807", &v, &why));
  EXPECT_EQ(v, std::numeric_limits<std::int64_t>::max());
  std::uint64_t u = 0;
  ASSERT_TRUE(ParseUnsigned("18446744073709551615", &u, &why));
  EXPECT_EQ(u, std::numeric_limits<std::uint64_t>::max());
}

TEST(NumberParse, IntegersRefusedWithReason) {
  // The forms issue 14 found accepted by -p but refused elsewhere.
  EXPECT_EQ(WhyInteger(" 64"), "has leading or trailing spaces");
  EXPECT_EQ(WhyInteger("64 "), "has leading or trailing spaces");
  EXPECT_EQ(WhyInteger("+64"), "has a leading '+'");
  EXPECT_EQ(WhyInteger("0x1p1"), "is hexadecimal (only decimal numbers are accepted)");
  EXPECT_EQ(WhyInteger("-0"), "is negative zero");
  EXPECT_EQ(WhyInteger("064"), "has a leading zero");
  EXPECT_EQ(WhyInteger("12abc"), "is not an integer");
  EXPECT_EQ(WhyInteger("1e3"), "is not an integer");
  EXPECT_EQ(WhyInteger("6\n4"), "contains a control character");
  EXPECT_EQ(WhyInteger(""), "is empty");
  EXPECT_EQ(WhyInteger("9223372036854775808"), "does not fit a 64-bit integer");
  std::uint64_t u = 0;
  std::string why;
  EXPECT_FALSE(ParseUnsigned("18446744073709551616", &u, &why));
  EXPECT_EQ(why, "does not fit a 64-bit integer");
  EXPECT_FALSE(ParseUnsigned("-1", &u, &why));
  EXPECT_EQ(why, "is negative");
}

TEST(NumberParse, RealsAccepted) {
  double v = 0;
  std::string why;
  ASSERT_TRUE(ParseReal("1.4", &v, &why));
  EXPECT_EQ(v, 1.4);
  ASSERT_TRUE(ParseReal("-2.5e-3", &v, &why));
  EXPECT_EQ(v, -2.5e-3);
  ASSERT_TRUE(ParseReal("1E9", &v, &why));
  EXPECT_EQ(v, 1e9);
  // 5e-324 is the smallest subnormal double: inside [0, max] ranges, not "out of range".
  ASSERT_TRUE(ParseReal("5e-324", &v, &why)) << why;
  EXPECT_EQ(v, std::numeric_limits<double>::denorm_min());
}

TEST(NumberParse, RealsRefusedWithReason) {
  EXPECT_EQ(WhyReal("0x1p1"), "is hexadecimal (only decimal numbers are accepted)");
  EXPECT_EQ(WhyReal("+1.4"), "has a leading '+'");
  EXPECT_EQ(WhyReal(" 1.4"), "has leading or trailing spaces");
  EXPECT_EQ(WhyReal("-0.0"), "is negative zero");
  EXPECT_EQ(WhyReal("nan"), "is not a decimal number");
  EXPECT_EQ(WhyReal("inf"), "is not a decimal number");
  EXPECT_EQ(WhyReal("1."), "is not a decimal number");
  EXPECT_EQ(WhyReal(".5"), "is not a decimal number");
  EXPECT_EQ(WhyReal("1e400"), "is too large for a double");
  EXPECT_EQ(WhyReal("1_000"), "is not a decimal number");
}

TEST(NumberParse, LooksNumeric) {
  EXPECT_TRUE(LooksNumeric("12abc"));
  EXPECT_TRUE(LooksNumeric("+64"));
  EXPECT_TRUE(LooksNumeric(" 64"));
  EXPECT_TRUE(LooksNumeric("-.5"));
  EXPECT_FALSE(LooksNumeric("adamw"));
  EXPECT_FALSE(LooksNumeric("true"));
  EXPECT_FALSE(LooksNumeric("[1, 2]"));
}

}  // namespace
}  // namespace systole

// ocs::is_text (include/ocs/common/utf8.hpp): what a UTF8 PostgreSQL
// database can hold.
#include "ocs/common/utf8.hpp"

#include <gtest/gtest.h>

#include <string>

namespace ocs {
namespace {

TEST(Utf8, TextIsValidUtf8WithoutNul) {
  EXPECT_TRUE(is_text(""));
  EXPECT_TRUE(is_text("alice@example.org"));
  EXPECT_TRUE(is_text("J\xc3\xbcrgen"));              // ü
  EXPECT_TRUE(is_text("\xe2\x82\xac 5"));              // €
  EXPECT_TRUE(is_text("\xf0\x9f\x93\xb6"));            // U+1F4F6
  EXPECT_FALSE(is_text(std::string("a\0b", 3)));       // NUL
  EXPECT_FALSE(is_text("J\xfcrgen"));                  // Latin-1
  EXPECT_FALSE(is_text("\xc0\xaf"));                   // overlong '/'
  EXPECT_FALSE(is_text("\xed\xa0\x80"));               // a surrogate
  EXPECT_FALSE(is_text("\xf4\x90\x80\x80"));           // past U+10FFFF
  EXPECT_FALSE(is_text("\xe2\x82"));                   // cut short
  EXPECT_FALSE(is_text("\x80"));                       // a lone continuation byte
}

}  // namespace
}  // namespace ocs

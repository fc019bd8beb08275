#include <fstream>

#include <gtest/gtest.h>

#include "ocs/radius/dictionary.hpp"

namespace ocs::radius {
namespace {

TEST(Dictionary, ShippedDictionaryLoads) {
  const auto d = Dictionary::load(OCS_RADIUS_DICTIONARY);
  const auto* up = d.find("User-Password");
  ASSERT_NE(up, nullptr);
  EXPECT_EQ(up->number, 2);
  EXPECT_EQ(up->encrypt, 1);
  struct Expected {
    const char* name;
    std::uint32_t vendor;
    std::uint8_t number;
    AttrType type;
  };
  for (const auto& e : {Expected{"Acct-Status-Type", 0, 40, AttrType::Integer},
                        Expected{"Acct-Input-Gigawords", 0, 52, AttrType::Integer},
                        Expected{"Event-Timestamp", 0, 55, AttrType::Date},
                        Expected{"Framed-IP-Address", 0, 8, AttrType::IpAddr},
                        Expected{"Message-Authenticator", 0, 80, AttrType::Octets},
                        Expected{"Framed-Pool", 0, 88, AttrType::String},
                        Expected{"Error-Cause", 0, 101, AttrType::Integer},
                        Expected{"Cisco-AVPair", 9, 1, AttrType::String},
                        Expected{"Mikrotik-Rate-Limit", 14988, 8, AttrType::String},
                        Expected{"Mikrotik-Total-Limit", 14988, 17, AttrType::Integer},
                        Expected{"Mikrotik-Total-Limit-Gigawords", 14988, 18, AttrType::Integer},
                        Expected{"WISPr-Redirection-URL", 14122, 4, AttrType::String},
                        Expected{"WISPr-Bandwidth-Max-Down", 14122, 8, AttrType::Integer},
                        Expected{"ChilliSpot-Max-Total-Octets", 14559, 3, AttrType::Integer}}) {
    const auto* def = d.find(e.name);
    ASSERT_NE(def, nullptr) << e.name;
    EXPECT_EQ(def->vendor, e.vendor) << e.name;
    EXPECT_EQ(def->number, e.number) << e.name;
    EXPECT_EQ(def->type, e.type) << e.name;
    EXPECT_EQ(d.find(e.vendor, e.number), def) << e.name;
  }
  EXPECT_EQ(d.value("Acct-Status-Type", "Interim-Update"), 3U);
  EXPECT_EQ(d.value("Acct-Status-Type", "Accounting-Off"), 8U);
  EXPECT_EQ(d.value("Error-Cause", "Session-Context-Not-Found"), 503U);
  EXPECT_EQ(d.value_name(*d.find("Acct-Terminate-Cause"), 5), "Session-Timeout");
  EXPECT_FALSE(d.value("Acct-Status-Type", "Nope"));
  EXPECT_FALSE(d.value_name(*d.find("Acct-Status-Type"), 99));
  EXPECT_EQ(d.vendor("Mikrotik")->id, 14988U);
  EXPECT_EQ(d.vendor(14122U)->name, "WISPr");
  EXPECT_EQ(d.find(0, 255), nullptr);
}

std::string error_of(std::string_view text, const char* origin = "/nonexistent/dict") {
  try {
    Dictionary::parse(text, origin);
  } catch (const DictionaryError& e) {
    return e.what();
  }
  return "no error";
}

TEST(Dictionary, ParseErrorsNameFileAndLine) {
  struct Case {
    const char* text;
    const char* message;
  };
  for (const auto& c : {
           Case{"ATTRIBUTE A 1 string\nATTRIBUTE A 2 string\n", "/nonexistent/dict:2: ATTRIBUTE: duplicate name 'A'"},
           Case{"ATTRIBUTE A 1 string\n\n# x\nATTRIBUTE B 1 integer\n",
                "/nonexistent/dict:4: ATTRIBUTE B: number 1 already used by A"},
           Case{"ATTRIBUTE A 256 string\n", "/nonexistent/dict:1: ATTRIBUTE A: bad number '256' (1-255)"},
           Case{"ATTRIBUTE A 0 string\n", "/nonexistent/dict:1: ATTRIBUTE A: bad number '0' (1-255)"},
           Case{"ATTRIBUTE A 1 float\n", "/nonexistent/dict:1: ATTRIBUTE A: unknown type 'float'"},
           Case{"ATTRIBUTE A 1 string has_tag\n", "/nonexistent/dict:1: ATTRIBUTE A: unknown flag or vendor 'has_tag'"},
           Case{"ATTRIBUTE A 1\n", "/nonexistent/dict:1: ATTRIBUTE: expected 3-4 fields, got 2"},
           Case{"VALUE A x 1\n", "/nonexistent/dict:1: VALUE: unknown attribute 'A'"},
           Case{"ATTRIBUTE A 1 string\nVALUE A x 1\n", "/nonexistent/dict:2: VALUE: A is not an integer"},
           Case{"ATTRIBUTE A 1 integer\nVALUE A x 1\nVALUE A x 2\n", "/nonexistent/dict:3: VALUE: duplicate A x"},
           Case{"ATTRIBUTE A 1 integer\nVALUE A x one\n", "/nonexistent/dict:2: VALUE A x: bad number 'one'"},
           Case{"VENDOR V 9\nVENDOR W 9\n", "/nonexistent/dict:2: VENDOR: id 9 already defined as 'V'"},
           Case{"VENDOR V 9\nVENDOR V 10\n", "/nonexistent/dict:2: VENDOR: duplicate vendor name 'V'"},
           Case{"VENDOR V 429 format=4,0\n", "/nonexistent/dict:1: VENDOR: only format=1,1 is supported"},
           Case{"BEGIN-VENDOR V\n", "/nonexistent/dict:1: BEGIN-VENDOR: unknown vendor 'V'"},
           Case{"VENDOR V 9\nBEGIN-VENDOR V\nATTRIBUTE A 1 string\n",
                "/nonexistent/dict:2: BEGIN-VENDOR V is never closed"},
           Case{"VENDOR V 9\nVENDOR W 10\nBEGIN-VENDOR V\nEND-VENDOR W\n",
                "/nonexistent/dict:4: END-VENDOR W does not close BEGIN-VENDOR V"},
           Case{"END-VENDOR V\n", "/nonexistent/dict:1: END-VENDOR without BEGIN-VENDOR"},
           Case{"ATTRIBUTE A 1 string\nPROTOCOL x 1\n", "/nonexistent/dict:2: unknown keyword 'PROTOCOL'"},
           Case{"\n$INCLUDE missing.file\n", "/nonexistent/dict:2: cannot open /nonexistent/missing.file"},
       }) {
    EXPECT_EQ(error_of(c.text), c.message) << c.text;
  }
}

TEST(Dictionary, VendorBlocksAndTrailingComments) {
  const auto d = Dictionary::parse(
      "VENDOR V 9   # comment\n"
      "ATTRIBUTE Std 1 string\n"
      "BEGIN-VENDOR V\n"
      "ATTRIBUTE V-One 1 integer\n"
      "END-VENDOR V\n"
      "ATTRIBUTE V-Two 0x02 string V\n"
      "VALUE V-One Yes 1\n"
      "VALUE V-One Also-Yes 1\n",
      "/x/dict");
  EXPECT_EQ(d.find("V-One")->vendor, 9U);
  EXPECT_EQ(d.find("V-Two")->vendor, 9U);
  EXPECT_EQ(d.find("V-Two")->number, 2);
  EXPECT_EQ(d.find(0, 1)->name, "Std");
  EXPECT_EQ(d.value_name(*d.find("V-One"), 1), "Yes");  // the first name wins
  EXPECT_EQ(d.value("V-One", "Also-Yes"), 1U);
  EXPECT_EQ(d.format(Attribute{9, 1, {0, 0, 0, 1}}), "V-One = Yes");
  EXPECT_EQ(d.format(Attribute{9, 1, {0, 1}}), "V-One = 0x0001");
  EXPECT_EQ(d.format(Attribute{0, 1, {'a', '"', 0}}), "Std = \"a\\\"\\x00\"");
  EXPECT_EQ(d.format(Attribute{0, 7, {}}), "Attr-7 = 0x");
}

class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("ocs-radius-dict-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
             "-" + std::to_string(reinterpret_cast<std::uintptr_t>(this)));
    std::filesystem::create_directories(path_ / "sub");
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name) << text;
  }

 private:
  std::filesystem::path path_;
};

TEST(Dictionary, IncludeIsRelativeToTheIncludingFile) {
  TempDir dir;
  dir.write("dictionary", "$INCLUDE sub/dictionary.a\n");
  dir.write("sub/dictionary.a", "ATTRIBUTE A 1 string\n$INCLUDE dictionary.b\n");
  dir.write("sub/dictionary.b", "# b\nATTRIBUTE B 2 integer\nATTRIBUTE C 3 blob\n");
  try {
    Dictionary::load(dir.path() / "dictionary");
    FAIL() << "no error";
  } catch (const DictionaryError& e) {
    EXPECT_EQ(e.file(), (dir.path() / "sub/dictionary.b").string());
    EXPECT_EQ(e.line(), 3);
    EXPECT_EQ(std::string(e.what()),
              (dir.path() / "sub/dictionary.b").string() + ":3: ATTRIBUTE C: unknown type 'blob'");
  }
  dir.write("sub/dictionary.b", "ATTRIBUTE B 2 integer\n");
  const auto d = Dictionary::load(dir.path() / "dictionary");
  EXPECT_EQ(d.attribute_count(), 2U);
}

TEST(Dictionary, IncludeLoopIsAnError) {
  TempDir dir;
  dir.write("dictionary", "$INCLUDE dictionary\n");
  try {
    Dictionary::load(dir.path() / "dictionary");
    FAIL() << "no error";
  } catch (const DictionaryError& e) {
    EXPECT_NE(std::string(e.what()).find("nested too deeply"), std::string::npos) << e.what();
    EXPECT_EQ(e.line(), 1);
  }
}

}  // namespace
}  // namespace ocs::radius

// libFuzzer entry point for the RADIUS codec (CMake option OCS_FUZZ, clang):
//   mkdir -p /tmp/radius-corpus
//   ./bin/ocs_radius_fuzz -max_total_time=60 /tmp/radius-corpus tests/radius/vectors/
// (libFuzzer writes new inputs into the FIRST directory: never the vectors.)
// Corpus files may be raw datagrams or the text vectors of
// tests/radius/vectors/ (their hex: lines are decoded as well), so the
// unit-test vectors seed the fuzzer as they are.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>

#include "../vector_file.hpp"
#include "ocs/radius/auth.hpp"
#include "ocs/radius/packet.hpp"

namespace {

void check(std::span<const std::uint8_t> data) {
  using namespace ocs::radius;
  const DecodeResult r = decode(data);
  if (!r.ok()) return;
  const EncodeResult e = encode(r.packet);
  if (!e.ok()) {
    if (*e.error != EncodeError::PacketTooLong) std::abort();
    return;
  }
  const DecodeResult again = decode(e.bytes);
  if (!again.ok() || !(again.packet == r.packet)) std::abort();
  (void)verify_request(data, "s", true);
  (void)verify_response(data, r.packet.authenticator, "s", true);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  check(bytes);
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto v = ocs::radius::test::parse_vector(text)) check(v->bytes);
  return 0;
}

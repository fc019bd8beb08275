// RADIUS Identifier allocation for a client (RFC 2865 3, RFC 5080 2.2.2):
// the 256 identifiers of one (source socket, destination) pair. Used by the
// CoA/Disconnect sender and by ocs-bench's NAS simulation. Not thread-safe:
// one owner (a socket's thread or an io_context strand).
#pragma once

#include <bitset>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace ocs::radius {

class IdAllocator {
 public:
  /// The first free identifier after the last one handed out (round robin),
  /// so a just-released identifier is reused as late as possible and a late
  /// answer is unlikely to meet a new request with the same one (the
  /// Response Authenticator check catches it when it does). Nothing when all
  /// 256 are in use.
  std::optional<std::uint8_t> allocate();
  /// Releasing an identifier that is not in use does nothing.
  void release(std::uint8_t id);
  bool in_use(std::uint8_t id) const { return used_.test(id); }
  std::size_t in_use_count() const { return used_.count(); }

 private:
  std::bitset<256> used_;
  std::uint8_t next_ = 0;
};

}  // namespace ocs::radius

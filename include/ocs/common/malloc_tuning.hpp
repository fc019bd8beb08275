// glibc malloc settings for the daemons: ocs-radiusd, and ocs.fdx for the
// whole freeDiameterd process it is loaded in.
//
// By default glibc gives memory back to the kernel as soon as the free
// space at the top of an arena passes a threshold that starts at 128 kB. A
// server whose threads each allocate and free a few kilobytes per request
// then shrinks and regrows its per-thread arenas all the time: madvise
// (MADV_DONTNEED), the page faults that refill the pages, and the TLB
// shootdowns that interrupt the other core. Keeping the memory took a tenth
// to a quarter off ocs-radiusd's CPU per packet, and about a third off
// freeDiameterd's per CCR with ocs.fdx (docs/benchmarks.md, "glibc's arena
// trimming").
//
// keep_freed_memory() raises the trim threshold to 32 MB per arena and,
// because a fixed trim threshold also fixes the mmap threshold at its
// 128 kB default, lets blocks of up to 4 MB come from the arenas instead of
// a mmap and munmap each. Peak memory is unchanged; memory freed after a
// peak is kept for reuse (at most 32 MB per arena) instead of returned.
//
// An operator's GLIBC_TUNABLES with malloc settings wins: then nothing is
// changed.
#pragma once

#include <malloc.h>

#include <cstdlib>
#include <string_view>

namespace ocs {

/// True when the settings were applied, false when GLIBC_TUNABLES sets
/// malloc tunables (left as the operator chose) or glibc refused them.
inline bool keep_freed_memory() {
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables && std::string_view(tunables).find("glibc.malloc.") != std::string_view::npos) return false;
  constexpr int kTrimThreshold = 32 << 20;
  constexpr int kMmapThreshold = 4 << 20;
  return mallopt(M_TRIM_THRESHOLD, kTrimThreshold) == 1 && mallopt(M_MMAP_THRESHOLD, kMmapThreshold) == 1;
}

}  // namespace ocs

// One seeded pseudo-random generator for the simulator's new code: SplitMix64
// (Steele, Lea and Flood's mixer), with named forks, so that each consumer of
// randomness (scheduler, broker, workload, nemesis, swarm) draws from its own
// stream derived from one root seed, and adding draws to one stream never
// shifts another's.
//
//   Rng root(seed);
//   Rng swarm = root.Fork("swarm");
//   auto ms = swarm.Between(100, 500);
#pragma once

#include <cstdint>
#include <string_view>

namespace kvlog::sim {

// SplitMix64's output function: a bijective mix of z.
constexpr uint64_t Finalise(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// The SplitMix64 finaliser: a bijective mix of x.
constexpr uint64_t SplitMix64(uint64_t x) { return Finalise(x + 0x9e3779b97f4a7c15ULL); }

// A seed from a root seed and a numeric salt (the workloads' per-process
// streams). Older than Rng::Fork and kept so that every seed's history stays
// the same; new code forks by name instead.
constexpr uint64_t MixSeed(uint64_t seed, uint64_t salt) {
  return Finalise(seed * 0x9e3779b97f4a7c15ULL ^ (salt + 0x632be59bd9b4e019ULL));
}

class Rng {
 public:
  explicit constexpr Rng(uint64_t seed) : seed_(seed), state_(seed) {}

  // The next 64 random bits.
  constexpr uint64_t Next() {
    state_ += 0x9e3779b97f4a7c15ULL;
    return Finalise(state_);
  }
  // Uniform in [0, n); 0 when n is 0.
  constexpr uint64_t Below(uint64_t n) { return n == 0 ? 0 : Next() % n; }
  // Uniform in [lo, hi] (lo when hi < lo).
  constexpr int64_t Between(int64_t lo, int64_t hi) {
    if (hi <= lo) return lo;
    return lo + static_cast<int64_t>(Below(static_cast<uint64_t>(hi - lo) + 1));
  }
  // Uniform in [0, 1).
  constexpr double Unit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  constexpr bool Chance(double p) { return p >= 1 || (p > 0 && Unit() < p); }

  // An independent stream named `name`, from this generator's seed (not its
  // position: forking after draws gives the same fork).
  constexpr Rng Fork(std::string_view name) const {
    uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a of the name.
    for (char c : name) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
    return Rng(SplitMix64(seed_ ^ SplitMix64(h)));
  }

  constexpr uint64_t seed() const { return seed_; }

 private:
  uint64_t seed_;
  uint64_t state_;
};

}  // namespace kvlog::sim

// The project's one seeded pseudo-random generator: SplitMix64 (Steele, Lea
// and Flood's mixer) with named forks. Every consumer of randomness in a
// simulated run (the scheduler, the world's faults, the broker, the
// workloads' processes, the nemeses, the swarm) draws from its own fork of the
// run's root seed, so adding draws to one stream never shifts another's, and
// one seed names the whole run.
//
//   Rng root(seed);
//   Rng broker = root.Fork("broker");
//   if (broker.Chance(0.01)) ...
//
// Rng is a UniformRandomBitGenerator, so <random>'s distributions and
// std::shuffle accept it; its own helpers (Below, Between, Unit, Chance) are
// cheaper and fixed across standard libraries, so seeded code prefers them.
#pragma once

#include <cstdint>
#include <limits>
#include <string_view>

namespace kvlog::base {

// SplitMix64's output function: a bijective mix of z.
constexpr uint64_t Finalise(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// The SplitMix64 finaliser: a bijective mix of x.
constexpr uint64_t SplitMix64(uint64_t x) { return Finalise(x + 0x9e3779b97f4a7c15ULL); }

class Rng {
 public:
  using result_type = uint64_t;

  explicit constexpr Rng(uint64_t seed) : seed_(seed), state_(seed) {}

  // The next 64 random bits.
  constexpr uint64_t Next() {
    state_ += 0x9e3779b97f4a7c15ULL;
    return Finalise(state_);
  }
  constexpr uint64_t operator()() { return Next(); }
  static constexpr uint64_t min() { return 0; }
  static constexpr uint64_t max() { return std::numeric_limits<uint64_t>::max(); }

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
  // position: forking after draws gives the same fork). Names nest with '/':
  // Fork("workload").Fork("process/3").
  constexpr Rng Fork(std::string_view name) const {
    uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a of the name.
    for (char c : name) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
    return Rng(SplitMix64(seed_ ^ SplitMix64(h)));
  }
  // The fork for the index-th of several alike consumers (processes, brokers).
  constexpr Rng Fork(std::string_view name, uint64_t index) const {
    return Rng(SplitMix64(Fork(name).seed_ + SplitMix64(index)));
  }

  constexpr uint64_t seed() const { return seed_; }

 private:
  uint64_t seed_;
  uint64_t state_;
};

}  // namespace kvlog::base

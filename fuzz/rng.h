#ifndef SHADOWDIFF_FUZZ_RNG_H_
#define SHADOWDIFF_FUZZ_RNG_H_

#include <cstdint>
#include <random>

namespace shadowdiff {

// A seeded random source: the same seed gives the same choices, which keeps
// the mutator deterministic for libFuzzer.
class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}

  uint64_t Next() { return engine_(); }
  // Uniform in [0, n); n must be positive.
  uint64_t Below(uint64_t n) { return engine_() % n; }
  bool OneIn(uint64_t n) { return Below(n) == 0; }

  // One item of a non-empty random-access range.
  template <typename Items>
  const auto& Pick(const Items& items) {
    return items[Below(items.size())];
  }

 private:
  std::mt19937_64 engine_;
};

}  // namespace shadowdiff

#endif  // SHADOWDIFF_FUZZ_RNG_H_

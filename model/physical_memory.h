#ifndef SHADOWDIFF_MODEL_PHYSICAL_MEMORY_H_
#define SHADOWDIFF_MODEL_PHYSICAL_MEMORY_H_

#include <cstdint>
#include <optional>
#include <span>

namespace shadowdiff::model {

// Guest-physical memory as the walker sees it. A gpa outside RAM is MMIO:
// reads of it fail (a paging-structure read then sees a zero, not-present
// entry) and writes to it are dropped.
class PhysicalMemory {
 public:
  virtual ~PhysicalMemory() = default;
  virtual bool IsRam(uint64_t gpa) const = 0;
  virtual bool Read(uint64_t gpa, std::span<uint8_t> out) const = 0;
  virtual bool Write(uint64_t gpa, std::span<const uint8_t> bytes) = 0;
};

// The `width`-byte (1..8) little-endian number at gpa; nullopt outside RAM.
std::optional<uint64_t> ReadLittleEndian(const PhysicalMemory& memory,
                                         uint64_t gpa, int width);

// Stores the low `width` bytes (1..8) of value at gpa, little endian. False
// outside RAM, where the write is dropped.
bool WriteLittleEndian(PhysicalMemory& memory, uint64_t gpa, int width,
                       uint64_t value);

}  // namespace shadowdiff::model

#endif  // SHADOWDIFF_MODEL_PHYSICAL_MEMORY_H_

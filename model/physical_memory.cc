#include "model/physical_memory.h"

#include <array>

namespace shadowdiff::model {

std::optional<uint64_t> ReadLittleEndian(const PhysicalMemory& memory,
                                         uint64_t gpa, int width) {
  std::array<uint8_t, 8> bytes = {};
  if (!memory.Read(gpa, std::span(bytes).first(width))) return std::nullopt;
  uint64_t value = 0;
  for (int i = width - 1; i >= 0; --i) value = value << 8 | bytes[i];
  return value;
}

bool WriteLittleEndian(PhysicalMemory& memory, uint64_t gpa, int width,
                       uint64_t value) {
  std::array<uint8_t, 8> bytes = {};
  for (int i = 0; i < width; ++i)
    bytes[i] = static_cast<uint8_t>(value >> (8 * i));
  return memory.Write(gpa, std::span<const uint8_t>(bytes).first(width));
}

}  // namespace shadowdiff::model

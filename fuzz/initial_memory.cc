#include "fuzz/initial_memory.h"

#include "proto/entry_encoding.h"

namespace shadowdiff {

std::array<uint8_t, 8> LittleEndian(uint64_t value) {
  std::array<uint8_t, 8> bytes;
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<uint8_t>(value >> (8 * i));
  return bytes;
}

void ForEachInitialWrite(
    const Setup& setup,
    const std::function<void(uint64_t gpa, std::span<const uint8_t> bytes)>&
        write) {
  const PagingMode mode = setup.mode();
  for (const WriteEntry& w : setup.entries()) {
    const auto bytes = LittleEndian(EntryValue(w, mode));
    write(EntryAddress(w, mode),
          std::span<const uint8_t>(bytes.data(), EntryBytes(mode)));
  }
  for (const PhysWrite& p : setup.bytes()) {
    const auto bytes = LittleEndian(p.value());
    write(p.gpa(), std::span<const uint8_t>(bytes.data(), p.length()));
  }
}

}  // namespace shadowdiff

// mmu_diff_fuzzer: the libFuzzer target. Each input is a case (binary, or
// text for the seed files); it runs on the reference and on the shadow MMU,
// and a divergence prints the report and aborts, so libFuzzer keeps the input.
// SHADOWDIFF_INJECT=NAME[,NAME] switches bugs of the zoo on.

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "fuzz/fuzz_input.h"
#include "fuzz/mmu_registry.h"
#include "fuzz/report.h"
#include "fuzz/runner.h"
#include "google/protobuf/arena.h"
#include "proto/normalize.h"

namespace {

std::string& Inject() {
  static std::string inject;
  return inject;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  if (const char* env = std::getenv("SHADOWDIFF_INJECT")) Inject() = env;
  if (auto mmu = shadowdiff::MakeMmu(shadowdiff::kDefaultMmu, Inject());
      !mmu.ok()) {
    std::fprintf(stderr, "mmu_diff_fuzzer: SHADOWDIFF_INJECT: %s\n",
                 std::string(mmu.status().message()).c_str());
    std::exit(2);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  alignas(8) static thread_local char block[shadowdiff::kArenaBlockBytes];
  google::protobuf::Arena arena(shadowdiff::ArenaStartingIn(block));
  auto* c = google::protobuf::Arena::CreateMessage<shadowdiff::Case>(&arena);
  if (!shadowdiff::ParseFuzzInput(data, size, c)) {
    return -1;  // not a case: keep it out of the corpus
  }
  shadowdiff::Normalize(*c);
  if (shadowdiff::IsEmpty(*c)) return 0;
  auto mmu = shadowdiff::MakeMmu(shadowdiff::kDefaultMmu, Inject());
  static thread_local shadowdiff::Runner runner;
  const shadowdiff::RunResult result = runner.Run(*c, **mmu);
  if (result.divergence) {
    const std::string report =
        shadowdiff::FormatReport(*c, *result.divergence, (*mmu)->Name());
    std::fputs(report.c_str(), stderr);
    std::fflush(stderr);
    std::abort();
  }
  return 0;
}

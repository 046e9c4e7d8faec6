#ifndef SHADOWDIFF_FUZZ_FUZZER_OPTIONS_H_
#define SHADOWDIFF_FUZZ_FUZZER_OPTIONS_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace shadowdiff {

// The libFuzzer flags of an options file's [libfuzzer] section ("key = value"
// lines, as OSS-Fuzz and ClusterFuzzLite read them) that the command line
// does not set already, as "-key=value". A relative dict is taken beside the
// fuzzer (binary_dir), as ClusterFuzzLite has it.
std::vector<std::string> DefaultFlags(absl::string_view options_text,
                                      absl::string_view binary_dir,
                                      const std::vector<std::string>& argv);

// libFuzzer cuts every input it loads to max_len, which leaves a text case
// (several times larger than its binary form) unparsable. This writes into
// out_dir a binary copy of each text case under the corpus directories given,
// when the copy fits in max_len, and returns how many it wrote.
int WriteBinaryCopiesOfTextCases(const std::vector<std::string>& directories,
                                 const std::string& out_dir, size_t max_len);

}  // namespace shadowdiff

#endif  // SHADOWDIFF_FUZZ_FUZZER_OPTIONS_H_

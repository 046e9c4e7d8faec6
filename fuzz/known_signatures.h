#ifndef SHADOWDIFF_FUZZ_KNOWN_SIGNATURES_H_
#define SHADOWDIFF_FUZZ_KNOWN_SIGNATURES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace shadowdiff {

// The divergences a run tolerates (--known=FILE): one signature
// (fuzz/signature.h) a line, where '*' and '?' match as in shell globs, so
// "outcome/store/*" covers every outcome divergence at a store; '#' starts
// a comment. A run counts what each pattern matched and goes on.
class KnownSignatures {
 public:
  KnownSignatures() = default;
  // An unreadable file, or one with no pattern at all, is an error: a
  // misspelt path must not tolerate nothing silently.
  static absl::StatusOr<KnownSignatures> Load(const std::string& path);
  static absl::StatusOr<KnownSignatures> Parse(absl::string_view text,
                                               absl::string_view source);

  // Counts the match.
  bool Matches(absl::string_view signature);

  bool empty() const { return patterns_.empty(); }
  uint64_t matched() const { return matched_; }
  // "  12  outcome/store/*" lines, for the end of a run.
  std::string Tally() const;

 private:
  struct Pattern {
    std::string glob;
    uint64_t matches = 0;
  };
  std::vector<Pattern> patterns_;
  uint64_t matched_ = 0;
};

}  // namespace shadowdiff

#endif  // SHADOWDIFF_FUZZ_KNOWN_SIGNATURES_H_

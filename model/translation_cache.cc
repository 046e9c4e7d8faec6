#include "model/translation_cache.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "model/control_registers.h"
#include "model/entry_bits.h"
#include "model/paging_mode.h"
#include "model/pdpte.h"

namespace shadowdiff::model {
namespace {

// How many entry readings one search may look at. Cases are small (256 ops)
// and a search usually sees a few dozen; past this bound it gives up and
// says so, and the oracle then judges nothing it cannot see.
constexpr int kMaxReadings = 4096;

// Whether every walk reads and means the same under a and b: all of the
// state but CR0.WP, which only decides rights at the access (SDM 4.6).
bool SameWalks(const PagingState& a, const PagingState& b) {
  return a.mode == b.mode && a.cr4_pse == b.cr4_pse &&
         a.efer_nxe == b.efer_nxe && a.gbpages == b.gbpages &&
         a.cr4_pge == b.cr4_pge && a.cr4_pcide == b.cr4_pcide &&
         a.cr3 == b.cr3 && a.pdptes == b.pdptes;
}

bool SameWalk(const PossibleWalk& a, const PossibleWalk& b, uint64_t now) {
  if (a.source != b.source || a.walk.status != b.walk.status ||
      a.walk.levels.size() != b.walk.levels.size() ||
      a.walk.global != b.walk.global || a.pcid != b.pcid) {
    return false;
  }
  for (size_t i = 0; i < a.walk.levels.size(); ++i) {
    if (a.walk.levels[i].entry_gpa != b.walk.levels[i].entry_gpa ||
        a.walk.levels[i].value != b.walk.levels[i].value ||
        a.ReadNow(i, now) != b.ReadNow(i, now)) {
      return false;
    }
  }
  return true;
}

}  // namespace

// One depth-first search over the history: at each level, every stretch of
// versions in which the entry's value, the paging state and the
// invalidations all stay the same gives one reading, taken at the stretch's
// first version (the earliest reading leaves the widest window to the
// levels below, and no invalidation falls inside a stretch, so the choice
// is exact).
struct TranslationCache::Search {
  const TranslationCache& cache;
  uint64_t gva = 0;
  uint64_t now = 0;
  const PagingState& current;
  // EverMade: any version of the PCID, no invalidation.
  bool ever_made = false;
  PossibleWalks result;
  int readings_left = kMaxReadings;
  // The windows already searched below each path: a path of the same entry
  // values, read now or cached alike, whose window below lies inside one
  // already searched, gives nothing new (a later stretch of unchanged
  // values is the common case: state changes and invalidations elsewhere).
  // Keyed by the path itself (PCID, then each entry's gpa, value and whether
  // it was read now), compared whole: a hash of it let two paths whose
  // values differ only in bit 63 at two levels stand for each other.
  using PathKey = absl::InlinedVector<uint64_t, 13>;
  absl::flat_hash_map<PathKey,
                      absl::InlinedVector<std::pair<uint64_t, uint64_t>, 2>>
      searched;
  bool AlreadySearched(const WalkResult& path,
                       const absl::InlinedVector<uint64_t, 4>& read_at,
                       uint32_t pcid, uint64_t lo, uint64_t hi);

  void Level(int level, uint64_t table, uint64_t lo, uint64_t hi, uint32_t pcid,
             const WalkResult& above,
             const absl::InlinedVector<uint64_t, 4>& read_at);
  void Reading(int level, uint64_t table, uint64_t version, uint64_t hi,
               uint32_t pcid, const WalkResult& above,
               const absl::InlinedVector<uint64_t, 4>& read_at);
  void Emit(PossibleWalk walk);
  bool Survives(const TlbEntryKey& key, uint64_t made) const;
  uint64_t PscExpiry(const PscEntryKey& key, uint64_t made) const;
  uint64_t NextChange(uint64_t gpa, int bytes, uint64_t after) const;
};

bool TranslationCache::Search::AlreadySearched(
    const WalkResult& path, const absl::InlinedVector<uint64_t, 4>& read_at,
    uint32_t pcid, uint64_t lo, uint64_t hi) {
  PathKey key = {pcid};
  for (size_t i = 0; i < path.levels.size(); ++i) {
    key.push_back(path.levels[i].entry_gpa);
    key.push_back(path.levels[i].value);
    key.push_back(read_at[i] == now);
  }
  auto& windows = searched[key];
  for (const auto& [seen_lo, seen_hi] : windows) {
    if (seen_lo <= lo && hi <= seen_hi) return true;
  }
  windows.push_back({lo, hi});
  return false;
}

void TranslationCache::Search::Emit(PossibleWalk walk) {
  for (const PossibleWalk& seen : result.walks) {
    if (SameWalk(seen, walk, now)) return;
  }
  result.walks.push_back(std::move(walk));
}

// A TLB entry made at `made` may still be used now if no invalidation since
// removed it (SDM 4.10.4.1).
bool TranslationCache::Search::Survives(const TlbEntryKey& key,
                                        uint64_t made) const {
  if (ever_made) return true;
  for (const Invalidation& inv : cache.invalidations_) {
    if (inv.version > made && inv.version <= now &&
        InvalidatesTlbEntry(inv, key)) {
      return false;
    }
  }
  return true;
}

// The version of the first invalidation after `made` that removes a
// paging-structure-cache entry made then; the entry serves walks before it.
uint64_t TranslationCache::Search::PscExpiry(const PscEntryKey& key,
                                             uint64_t made) const {
  if (ever_made) return UINT64_MAX;
  for (const Invalidation& inv : cache.invalidations_) {
    if (inv.version > made && InvalidatesPscEntry(inv, key)) {
      return inv.version;
    }
  }
  return UINT64_MAX;
}

// The next version after `after` at which the reading of the entry at gpa
// may change: its value, the paging state, or an invalidation.
uint64_t TranslationCache::Search::NextChange(uint64_t gpa, int bytes,
                                              uint64_t after) const {
  uint64_t next = cache.journal_.NextWrite(gpa, bytes, after);
  const PagingState& now_state = cache.StateAtVersion(after);
  for (const StateAt& s : cache.states_) {
    if (s.since > after && !SameWalks(s.state, now_state)) {
      next = std::min(next, s.since);
      break;
    }
  }
  for (const Invalidation& inv : cache.invalidations_) {
    if (inv.version > after) {
      next = std::min(next, inv.version);
      break;
    }
  }
  return next;
}

void TranslationCache::Search::Level(
    int level, uint64_t table, uint64_t lo, uint64_t hi, uint32_t pcid,
    const WalkResult& above, const absl::InlinedVector<uint64_t, 4>& read_at) {
  uint64_t last = lo;
  for (uint64_t version = lo; version <= hi;) {
    if (readings_left-- <= 0) {
      result.complete = false;
      return;
    }
    const PagingState& state = cache.StateAtVersion(version);
    const PagingModeInfo& mode = ModeInfo(state.mode);
    const uint64_t at_table = level == mode.levels ? RootTable(state) : table;
    const uint64_t gpa =
        at_table + TableIndex(mode, level, gva) * mode.entry_bytes;
    Reading(level, at_table, version, hi, pcid, above, read_at);
    last = version;
    version = NextChange(gpa, mode.entry_bytes, version);
  }
  // The access's own reading: in the last stretch too, but read now, so that
  // an entry whose accessed flag is 0 serves it (and gets the flag).
  if (!ever_made && last < now && hi >= now) {
    const PagingState& state = cache.StateAtVersion(now);
    const uint64_t at_table =
        level == ModeInfo(state.mode).levels ? RootTable(state) : table;
    Reading(level, at_table, now, hi, pcid, above, read_at);
  }
}

void TranslationCache::Search::Reading(
    int level, uint64_t table, uint64_t version, uint64_t hi, uint32_t pcid,
    const WalkResult& above, const absl::InlinedVector<uint64_t, 4>& read_at) {
  const PagingState& state = cache.StateAtVersion(version);
  if (CurrentPcid(state) != pcid) return;
  const PagingModeInfo& mode = ModeInfo(state.mode);
  WalkLevel entry;
  if (mode.top_in_registers && level == mode.levels) {
    const uint64_t index = TableIndex(mode, level, gva);
    entry = {.level = level,
             .entry_gpa = PdpteAddress(state.cr3, index),
             .value = state.pdptes[index],
             .from_register = true};
  } else {
    const uint64_t gpa =
        table + TableIndex(mode, level, gva) * mode.entry_bytes;
    entry = {.level = level,
             .entry_gpa = gpa,
             .value = cache.ValueAt(gpa, mode.entry_bytes, version)};
  }
  // Read before now, the entry is cached: it was present, and its accessed
  // flag was already 1 (the first reading in TranslationCache).
  const bool cached = version < now || ever_made;
  if (cached && HasRightsAndAccessedFlag(entry) &&
      (entry.value & entry_bits::kAccessed) == 0) {
    return;
  }
  WalkResult walk = above;
  absl::InlinedVector<uint64_t, 4> at = read_at;
  at.push_back(version);
  const std::optional<uint64_t> next = Step(state, gva, entry, walk);
  if (next.has_value()) {
    const uint64_t region = PageSizeAt(mode, level);
    const uint64_t expiry = PscExpiry({.pcid = pcid,
                                       .level = level,
                                       .region_base = gva & ~(region - 1),
                                       .region_size = region},
                                      version);
    const uint64_t child_hi = !cached                ? now
                              : expiry == UINT64_MAX ? hi
                                                     : std::min(hi, expiry - 1);
    if (AlreadySearched(walk, at, pcid, version, child_hi)) return;
    Level(level - 1, *next, version, child_hi, pcid, walk, at);
    return;
  }
  const bool own_pcid = pcid == CurrentPcid(current);
  if (walk.status != WalkResult::Status::kOk) {
    // Not-present and reserved entries are never cached (SDM 4.10.2.1):
    // a faulting walk is always the access's own.
    if (!cached && own_pcid) {
      Emit({.source = PossibleWalk::Source::kWalkNow,
            .walk = std::move(walk),
            .read_at = std::move(at),
            .pcid = pcid});
    }
    return;
  }
  if (!cached) {
    if (!own_pcid) return;
    // A walk of the moment over accessed entries is also a TLB entry the
    // processor may make now.
    if (walk.all_accessed) {
      Emit({.source = PossibleWalk::Source::kTlbEntry,
            .walk = walk,
            .read_at = at,
            .pcid = pcid});
    }
    Emit({.source = PossibleWalk::Source::kWalkNow,
          .walk = std::move(walk),
          .read_at = std::move(at),
          .pcid = pcid});
    return;
  }
  // SDM 4.10.2.4: a global TLB entry serves every PCID.
  if (!own_pcid && !walk.global) return;
  const TlbEntryKey key = {.pcid = pcid,
                           .global = walk.global,
                           .page_base = gva & ~(walk.page_size - 1),
                           .page_size = walk.page_size};
  if (!Survives(key, version)) return;
  Emit({.source = PossibleWalk::Source::kTlbEntry,
        .walk = std::move(walk),
        .read_at = std::move(at),
        .pcid = pcid});
}

TranslationCache::TranslationCache(GuestMemory& memory) : memory_(memory) {
  memory_.set_journal(&journal_);
}

TranslationCache::~TranslationCache() { memory_.set_journal(nullptr); }

void TranslationCache::Reset(const PagingState& state) {
  journal_.Reset();
  states_.assign(1, {.since = 0, .state = state});
  invalidations_.clear();
}

void TranslationCache::OnState(const PagingState& state) {
  states_.push_back({.since = journal_.Tick(), .state = state});
}

void TranslationCache::OnInvalidation(Invalidation invalidation) {
  invalidation.version = journal_.Tick();
  invalidations_.push_back(invalidation);
}

void TranslationCache::RollBack(uint64_t version) {
  memory_.set_journal(nullptr);
  journal_.RollBack(version, memory_);
  memory_.set_journal(&journal_);
}

const PagingState& TranslationCache::StateAtVersion(uint64_t version) const {
  auto after = std::upper_bound(
      states_.begin(), states_.end(), version,
      [](uint64_t v, const StateAt& s) { return v < s.since; });
  return std::prev(after)->state;
}

uint64_t TranslationCache::ValueAt(uint64_t gpa, int bytes,
                                   uint64_t version) const {
  const uint64_t now = ReadLittleEndian(memory_, gpa, bytes).value_or(0);
  return journal_.History(gpa, bytes, now, version).front().value;
}

PossibleWalks TranslationCache::For(uint64_t gva,
                                    const PagingState& state) const {
  return For(gva, state, version());
}

PossibleWalks TranslationCache::For(uint64_t gva, const PagingState& state,
                                    uint64_t now) const {
  Search search{.cache = *this, .gva = gva, .now = now, .current = state};
  const int top = ModeInfo(state.mode).levels;
  // The current PCID's own entries, then global ones other PCIDs made.
  std::vector<uint32_t> pcids = {CurrentPcid(state)};
  for (const StateAt& s : states_) {
    const uint32_t pcid = CurrentPcid(s.state);
    if (std::find(pcids.begin(), pcids.end(), pcid) == pcids.end()) {
      pcids.push_back(pcid);
    }
  }
  for (uint32_t pcid : pcids) {
    search.Level(top, 0, 0, search.now, pcid, WalkResult{}, {});
  }
  return std::move(search.result);
}

PossibleWalks TranslationCache::EverMade(uint64_t gva,
                                         const PagingState& state) const {
  Search search{.cache = *this,
                .gva = gva,
                .now = version(),
                .current = state,
                .ever_made = true};
  search.Level(ModeInfo(state.mode).levels, 0, 0, search.now,
               CurrentPcid(state), WalkResult{}, {});
  return std::move(search.result);
}

}  // namespace shadowdiff::model

#include "fuzz/reducer.h"

#include <vector>

#include "proto/normalize.h"

namespace shadowdiff {
namespace {

constexpr int kSetupKind = -1;
constexpr int kEndKind = -2;

int OpKindAt(const Case& c, int index) {
  if (index < 0) return kSetupKind;
  if (index >= c.ops_size()) return kEndKind;
  return static_cast<int>(c.ops(index).kind_case());
}

// Simpler versions of one op, simplest first: supervisor instead of user,
// narrower accesses, zero values.
std::vector<Op> SimplerOps(const Op& op) {
  std::vector<Op> out;
  auto variant = [&](auto edit) {
    Op o = op;
    edit(o);
    out.push_back(std::move(o));
  };
  switch (op.kind_case()) {
    case Op::kStore:
      if (op.store().user()) {
        variant([](Op& o) { o.mutable_store()->set_user(false); });
      }
      if (op.store().value() != 0) {
        variant([](Op& o) { o.mutable_store()->set_value(0); });
      }
      if (op.store().width() > 1) {
        variant([](Op& o) { o.mutable_store()->set_width(1); });
      }
      break;
    case Op::kLoad:
      if (op.load().user()) {
        variant([](Op& o) { o.mutable_load()->set_user(false); });
      }
      if (op.load().width() > 1) {
        variant([](Op& o) { o.mutable_load()->set_width(1); });
      }
      break;
    case Op::kFetch:
      if (op.fetch().user()) {
        variant([](Op& o) { o.mutable_fetch()->set_user(false); });
      }
      break;
    case Op::kPhysWrite:
      if (op.phys_write().value() != 0) {
        variant([](Op& o) { o.mutable_phys_write()->set_value(0); });
      }
      break;
    default:
      break;
  }
  return out;
}

}  // namespace

bool Reducer::StillDiverges(const Case& candidate) {
  if (runs_ >= max_runs_) return false;
  ++runs_;
  const std::optional<Divergence> d = run_(candidate);
  return d && d->kind == kind_ && OpKindAt(candidate, d->op_index) == op_kind_;
}

bool Reducer::TryReplace(Case& c, const Case& candidate) {
  Case normalized = candidate;
  Normalize(normalized);
  if (!StillDiverges(normalized)) return false;
  c = std::move(normalized);
  return true;
}

bool Reducer::DeleteOpChunks(Case& c) {
  bool progress = false;
  for (int chunk = std::max(1, c.ops_size() / 2); chunk >= 1; chunk /= 2) {
    for (int begin = 0; begin < c.ops_size();) {
      Case candidate = c;
      const int count = std::min(chunk, candidate.ops_size() - begin);
      candidate.mutable_ops()->DeleteSubrange(begin, count);
      if (TryReplace(c, candidate)) {
        progress = true;
      } else {
        begin += chunk;
      }
    }
  }
  return progress;
}

bool Reducer::DeleteSetup(Case& c) {
  bool progress = false;
  for (int i = c.setup().slots_size() - 1; i >= 0; --i) {
    Case candidate = c;
    candidate.mutable_setup()->mutable_slots()->DeleteSubrange(i, 1);
    progress |= TryReplace(c, candidate);
  }
  for (int i = c.setup().entries_size() - 1; i >= 0; --i) {
    Case candidate = c;
    candidate.mutable_setup()->mutable_entries()->DeleteSubrange(i, 1);
    progress |= TryReplace(c, candidate);
  }
  for (int i = c.setup().bytes_size() - 1; i >= 0; --i) {
    Case candidate = c;
    candidate.mutable_setup()->mutable_bytes()->DeleteSubrange(i, 1);
    progress |= TryReplace(c, candidate);
  }
  return progress;
}

bool Reducer::Simplify(Case& c) {
  bool progress = false;
  for (int i = 0; i < c.ops_size(); ++i) {
    for (const Op& simpler : SimplerOps(c.ops(i))) {
      Case candidate = c;
      *candidate.mutable_ops(i) = simpler;
      if (TryReplace(c, candidate)) {
        progress = true;
        break;
      }
    }
  }
  for (auto clear : {&Setup::clear_cr0_wp, &Setup::clear_cr4_pse,
                     &Setup::clear_efer_nxe, &Setup::clear_gbpages,
                     &Setup::clear_cr4_pge, &Setup::clear_cr4_pcide}) {
    Case candidate = c;
    (candidate.mutable_setup()->*clear)();
    if (candidate.setup().SerializeAsString() !=
        c.setup().SerializeAsString()) {
      progress |= TryReplace(c, candidate);
    }
  }
  return progress;
}

Case Reducer::Reduce(const Case& c, ReduceStats* stats) {
  Case current = c;
  runs_ = 0;
  const std::optional<Divergence> original = run_(current);
  if (original) {
    kind_ = original->kind;
    op_kind_ = OpKindAt(current, original->op_index);
    for (bool progress = true; progress;) {
      progress = DeleteOpChunks(current);
      progress |= DeleteSetup(current);
      progress |= Simplify(current);
    }
  }
  if (stats) {
    stats->runs = runs_ + 1;
    stats->ops_before = c.ops_size();
    stats->ops_after = current.ops_size();
    stats->setup_writes_before =
        c.setup().entries_size() + c.setup().bytes_size();
    stats->setup_writes_after =
        current.setup().entries_size() + current.setup().bytes_size();
  }
  return current;
}

}  // namespace shadowdiff

/* MMUs in C that fail in the ways a real one can, for the tests of the C
 * interface, MMU errors, livelocks and capabilities. Each keeps one empty
 * 4-level root, taken from the host's table pages, so every access faults. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shadowdiff/mmu.h"

struct shadowdiff_mmu {
  shadowdiff_host* host;
  void* root;
  shadowdiff_paging_state state;
};

static shadowdiff_mmu* create(const char* switches, char* error,
                              size_t error_size) {
  if (switches[0] != '\0') {
    snprintf(error, error_size, "no switches (got '%s')", switches);
    return NULL;
  }
  return calloc(1, sizeof(shadowdiff_mmu));
}

static void destroy(shadowdiff_mmu* mmu) { free(mmu); }

static bool start(shadowdiff_mmu* mmu, shadowdiff_host* host,
                  const shadowdiff_controls* controls, char* error,
                  size_t error_size) {
  mmu->host = host;
  mmu->state.controls = *controls;
  mmu->root = host->ops->alloc_table(host);
  if (mmu->root == NULL) {
    snprintf(error, error_size, "no table page for the root");
    return false;
  }
  return true;
}

static bool cannot_start(shadowdiff_mmu* mmu, shadowdiff_host* host,
                         const shadowdiff_controls* controls, char* error,
                         size_t error_size) {
  snprintf(error, error_size, "this MMU never starts");
  return false;
}

static shadowdiff_root current_root(shadowdiff_mmu* mmu, shadowdiff_vcpu vcpu) {
  shadowdiff_root root = {SHADOWDIFF_ROOT_4LEVEL,
                          shadowdiff_table_hpa(mmu->host, mmu->root)};
  return root;
}

static shadowdiff_fault_resolution retry(shadowdiff_mmu* mmu,
                                         shadowdiff_vcpu vcpu, uint64_t gva,
                                         shadowdiff_access access, bool user,
                                         uint32_t host_error_code) {
  shadowdiff_fault_resolution r = {SHADOWDIFF_RETRY, 0, 0};
  return r;
}

static shadowdiff_fault_resolution bug_on_fault(
    shadowdiff_mmu* mmu, shadowdiff_vcpu vcpu, uint64_t gva,
    shadowdiff_access access, bool user, uint32_t host_error_code) {
  SHADOWDIFF_BUG_ON(mmu->host, (host_error_code & SHADOWDIFF_PF_PRESENT) == 0);
  return retry(mmu, vcpu, gva, access, user, host_error_code);
}

static void emulated_write(shadowdiff_mmu* mmu, shadowdiff_vcpu vcpu,
                           uint64_t gpa, const uint8_t* bytes, size_t len) {
  mmu->host->ops->write_guest(mmu->host, gpa, bytes, len);
}

static bool load_cr3(shadowdiff_mmu* mmu, shadowdiff_vcpu vcpu, uint64_t cr3) {
  mmu->state.cr3 = cr3;
  return true;
}

static bool set_controls(shadowdiff_mmu* mmu, shadowdiff_vcpu vcpu,
                         const shadowdiff_controls* controls) {
  mmu->state.controls = *controls;
  return true;
}

static void invlpg(shadowdiff_mmu* mmu, shadowdiff_vcpu vcpu, uint64_t gva) {}

static bool invpcid(shadowdiff_mmu* mmu, shadowdiff_vcpu vcpu, uint32_t type,
                    uint32_t pcid, uint64_t gva) {
  return true;
}

static void current_state(shadowdiff_mmu* mmu, shadowdiff_vcpu vcpu,
                          shadowdiff_paging_state* out) {
  *out = mmu->state;
}

#define DOUBLE(var, mmu_name, what, start_fn, fault_fn, mode_bits) \
  static const shadowdiff_mmu_ops var = {                          \
      .abi_version = SHADOWDIFF_MMU_ABI_VERSION,                   \
      .name = mmu_name,                                            \
      .summary = what,                                             \
      .switches = "",                                              \
      .capabilities = {.modes = (mode_bits),                       \
                       .controls = SHADOWDIFF_CONTROL_CR0_WP |     \
                                   SHADOWDIFF_CONTROL_CR4_PSE |    \
                                   SHADOWDIFF_CONTROL_EFER_NXE,    \
                       .gbpages = false,                           \
                       .max_vcpus = 1},                            \
      .create = create,                                            \
      .destroy = destroy,                                          \
      .start = start_fn,                                           \
      .current_root = current_root,                                \
      .handle_fault = fault_fn,                                    \
      .emulated_write = emulated_write,                            \
      .load_cr3 = load_cr3,                                        \
      .set_controls = set_controls,                                \
      .invlpg = invlpg,                                            \
      .invpcid = invpcid,                                          \
      .current_state = current_state,                              \
      .kept_roots = NULL,                                          \
  };                                                               \
  SHADOWDIFF_REGISTER_MMU(var)

#define ALL_MODES                               \
  (SHADOWDIFF_MODE_BIT(SHADOWDIFF_MODE_32BIT) | \
   SHADOWDIFF_MODE_BIT(SHADOWDIFF_MODE_PAE) |   \
   SHADOWDIFF_MODE_BIT(SHADOWDIFF_MODE_4LEVEL))

DOUBLE(kLoops, "c-loops", "retries every fault without fixing anything", start,
       retry, ALL_MODES)
DOUBLE(kBugOn, "c-bug-on", "hits a BUG_ON at its first not-present fault",
       start, bug_on_fault, ALL_MODES)
DOUBLE(kCannotStart, "c-cannot-start", "fails to start", cannot_start, retry,
       ALL_MODES)
DOUBLE(k4LevelOnly, "c-4level-only", "c-loops, for 4-level guests only", start,
       retry, SHADOWDIFF_MODE_BIT(SHADOWDIFF_MODE_4LEVEL))

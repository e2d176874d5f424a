// /proc and /sys paths runc's default spec hides or makes read-only (libcontainer/specconv.Example), plus the
// powercap tree containerd and Docker mask since CVE-2020-8694 (RAPL energy counters leak what other tenants run).

/** Kernel paths hidden from the container (an empty read-only bind, or /dev/null for files). */
export const DEFAULT_MASKED_PATHS: readonly string[] = [
  "/proc/acpi",
  "/proc/asound",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/sys/firmware",
  "/sys/devices/virtual/powercap",
  "/proc/scsi",
];

/** Kernel paths the container may read but not write. */
export const DEFAULT_READONLY_PATHS: readonly string[] = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

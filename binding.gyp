{
  "targets": [
    {
      "target_name": "audit_netlink",
      "sources": ["native/audit-netlink.c"],
      "cflags": ["-Wall", "-Wextra", "-Werror=implicit-function-declaration", "-O2"]
    },
    {
      "target_name": "record_scan",
      "sources": ["native/record-scan.c"],
      "cflags": ["-Wall", "-Wextra", "-Werror=implicit-function-declaration", "-O2", "-ffp-contract=off"]
    },
    {
      "target_name": "malloc_policy",
      "sources": ["native/malloc-policy.c"],
      "cflags": ["-Wall", "-Wextra", "-Werror=implicit-function-declaration", "-O2"]
    }
  ]
}

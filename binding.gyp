{
  "targets": [
    {
      "target_name": "audit_netlink",
      "sources": ["native/audit-netlink.c"],
      "cflags": ["-Wall", "-Wextra", "-Werror=implicit-function-declaration", "-O2"]
    }
  ]
}

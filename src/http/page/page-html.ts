/**
 * The daemon's own page (GET /): static HTML and its stylesheet, no external resource (no CDN:
 * nodes often have no internet, and the Content-Security-Policy of the route forbids any other
 * origin). Everything shown comes from the REST API, fetched by page-script.ts.
 */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>seccomp-auditor</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1d2733; background: #f5f7fa; }
  header { background: #1d2733; color: #fff; padding: 10px 20px; display: flex; gap: 20px; align-items: baseline; }
  header h1 { font-size: 18px; margin: 0; }
  header a { color: #9cc3ff; }
  main { padding: 12px 20px; }
  section { background: #fff; border: 1px solid #d8dee6; border-radius: 6px; padding: 10px 14px; margin-bottom: 14px; }
  h2 { font-size: 15px; margin: 4px 0 8px; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eef1f5; white-space: nowrap; }
  th { background: #f0f3f7; }
  th[data-key] { cursor: pointer; user-select: none; }
  th[data-key]:hover { background: #e2e8f0; }
  td.num, th.num { text-align: right; }
  .ok { color: #1a7f37; } .bad { color: #c62828; font-weight: 600; } .warn { color: #b26a00; }
  .muted { color: #6b7785; }
  button, .file { font: inherit; padding: 4px 10px; margin-right: 8px; border: 1px solid #9aa7b5; border-radius: 4px; background: #fff; cursor: pointer; }
  button:hover { background: #eef3f8; }
  a.pod { color: #0b57d0; text-decoration: none; } a.pod:hover { text-decoration: underline; }
  #login { max-width: 520px; }
  #login input { width: 100%; font: inherit; padding: 6px; margin: 6px 0; box-sizing: border-box; }
  #error { color: #c62828; white-space: pre-wrap; }
  pre { background: #f0f3f7; padding: 8px; overflow: auto; max-height: 300px; }
</style>
</head>
<body>
<header><h1>seccomp-auditor</h1><span id="node" class="muted"></span><a href="#" id="home">pods</a></header>
<main>
  <p id="error" role="alert"></p>
  <section id="login" hidden>
    <h2>Bearer token</h2>
    <p>This daemon protects its API (--protect-reads). Paste the token from the Secret
    seccomp-auditor-token (or the daemon's --token-file); it is kept in this tab only.</p>
    <form id="login-form"><input id="token" type="password" autocomplete="off" aria-label="token"><button type="submit">Open</button></form>
  </section>
  <div id="overview" hidden>
    <section><h2>Sources</h2><table id="sources"></table><p id="lost" class="muted"></p></section>
    <section><h2>Pods on this node</h2><table id="pods"></table></section>
    <section><h2>Violations <span class="muted">(records whose action was not log)</span></h2><table id="violations"></table></section>
    <section><h2>Unattributed records</h2><table id="unattributed"></table></section>
  </div>
  <div id="pod" hidden>
    <section>
      <h2 id="pod-title"></h2>
      <p id="learning"></p>
      <p>
        <button id="download-oci">Download OCI profile</button>
        <button id="download-spo">Download SPO profile</button>
        <label class="file">Check a profile file against this pod <input id="check-file" type="file" accept=".json,application/json" hidden></label>
      </p>
      <div id="check-result"></div>
    </section>
    <div id="containers"></div>
  </div>
</main>
<script src="/page.js"></script>
</body>
</html>
`;

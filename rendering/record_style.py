"""The inspection page's stylesheet (inline: the page is one self-contained file, and the
Content-Security-Policy allows inline styles only)."""

from __future__ import annotations

STYLE = """
*{box-sizing:border-box}
body{margin:0;background:#eef1f5;color:#1f2933;font:14px/1.45 system-ui,-apple-system,
"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1120px;margin:0 auto;padding:24px 28px 40px}
.masthead{background:#fff;border:1px solid #d9dde3;border-top:6px solid #1f4e79;
border-radius:8px;padding:20px 24px;margin-bottom:20px}
.kicker{font-size:12px;letter-spacing:.08em;text-transform:uppercase;color:#616e7c}
h1{font-size:26px;margin:4px 0 12px;display:flex;align-items:center;gap:14px;flex-wrap:wrap}
h2{font-size:18px;margin:0 0 10px;color:#1f4e79}
h3{font-size:15px;margin:0}
.badge{display:inline-block;border-radius:999px;padding:4px 14px;font-size:13px;
font-weight:700;letter-spacing:.03em;border:2px solid}
.badge.ok{background:#e6f4ea;color:#1b5e20;border-color:#2e7d32}
.badge.warn{background:#fff4e5;color:#8a4b00;border-color:#ef8f00}
.badge.bad{background:#fdecea;color:#8e1b1b;border-color:#c62828}
.facts{display:grid;grid-template-columns:max-content 1fr;gap:4px 18px;margin:0}
.facts dt{color:#616e7c}.facts dd{margin:0}
code,.mono{font-family:ui-monospace,"SFMono-Regular",Menlo,Consolas,monospace;font-size:12.5px}
.digest{word-break:break-all}
nav{margin:0 0 18px;font-size:13px}nav a{color:#1f4e79;margin-right:16px}
section{background:#fff;border:1px solid #d9dde3;border-radius:8px;padding:18px 22px;
margin-bottom:20px}
.note{color:#616e7c;font-size:12.5px;margin:0 0 10px}
.timeline{display:block;max-width:100%;height:auto}
.decision{border:1px solid #d9dde3;border-left:5px solid #2e7d32;border-radius:6px;
padding:12px 16px;margin:12px 0;break-inside:avoid}
.decision.denied{border-left-color:#c62828}
.decision header{display:flex;flex-wrap:wrap;align-items:baseline;gap:6px 12px;margin-bottom:8px}
.outcome{font-weight:700;font-size:12px;padding:2px 8px;border-radius:4px;color:#fff;
background:#2e7d32}
.outcome.denied{background:#c62828}
.meta{color:#616e7c;font-size:12.5px}
.replay.same{color:#1b5e20}.replay.different{color:#8e1b1b;font-weight:700}
table{border-collapse:collapse;width:100%;font-size:13px}
th{text-align:left;font-weight:600;color:#3e4c59;background:#f5f7fa;border-bottom:2px solid
#d9dde3;padding:6px 8px}
td{border-bottom:1px solid #e4e7eb;padding:6px 8px;vertical-align:top}
.reasons td:first-child{font-weight:700;white-space:nowrap}
.rule-text{color:#3e4c59;font-style:italic}
.inputs{display:grid;grid-template-columns:max-content 1fr max-content 1fr;gap:3px 14px;
margin:10px 0 0;padding:8px 10px;background:#f8f9fb;border-radius:4px;font-size:12.5px}
.inputs dt{color:#616e7c}.inputs dd{margin:0;word-break:break-word}
.inputs-title{grid-column:1/-1;font-weight:600;color:#3e4c59;font-size:12px;
text-transform:uppercase;letter-spacing:.05em}
.events td:nth-child(-n+3){white-space:nowrap}.events tr:nth-child(even) td{background:#fafbfc}
.details>span{display:inline-block;margin-right:14px;word-break:break-word}
.details .k{color:#616e7c}
.problems td{color:#8e1b1b}
footer{color:#616e7c;font-size:12px;text-align:center}
@media print{body{background:#fff}main{padding:0}section,.masthead{border:none;padding:0 0 12px}
nav{display:none}}
"""

// Opens a Mamori HTML report in headless Chromium (Debian's /usr/bin/chromium) and checks
// that it renders the findings and that the severity, module, owner and state filters work.
// usage: node html-check.mjs REPORT.html
import { chromium } from 'playwright-core';
import { pathToFileURL } from 'node:url';

const file = process.argv[2];
const exe = process.env.CHROMIUM || '/usr/bin/chromium';
const browser = await chromium.launch({
  executablePath: exe,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let failures = 0;
const check = (cond, what) => {
  console.log(`${cond ? 'ok  ' : 'FAIL'} ${what}`);
  if (!cond) failures++;
};
try {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  const external = [];
  page.on('request', (r) => { if (!r.url().startsWith('file:')) external.push(r.url()); });
  await page.goto(pathToFileURL(file).href);
  const visible = async () => page.$$eval('.finding', (els) => els.filter((e) => !e.hidden).map((e) => e.dataset));
  const all = await visible();
  check(all.length >= 4, `renders findings (${all.length})`);
  check((await page.textContent('#count')).includes(`${all.length} of ${all.length}`), 'count line shows all');
  const title = await page.textContent('.finding summary b');
  check(title.length > 0, `first finding has a title: ${title}`);

  await page.selectOption('#f-severity', 'high');
  let v = await visible();
  check(v.length > 0 && v.every((d) => d.severity === 'high' || d.severity === 'critical'),
        `severity filter >= high leaves ${v.length}`);
  check(v.length < all.length, 'severity filter hides lower severities');
  await page.selectOption('#f-severity', 'info');

  await page.selectOption('#f-owner', 'vendor-x');
  v = await visible();
  check(v.length >= 1 && v.every((d) => d.owner === 'vendor-x'), `owner filter vendor-x leaves ${v.length}`);
  await page.selectOption('#f-owner', 'unassigned');
  v = await visible();
  check(v.length >= 1 && v.every((d) => d.owner === 'unassigned'), `owner filter unassigned leaves ${v.length}`);
  await page.selectOption('#f-owner', '');

  await page.selectOption('#f-state', 'fixed');
  v = await visible();
  check(v.length >= 1 && v.every((d) => d.state === 'fixed'), `state filter fixed leaves ${v.length}`);
  await page.selectOption('#f-state', '');

  await page.selectOption('#f-module', 'inventory');
  v = await visible();
  const inv = all.filter((d) => d.module === 'inventory').length;
  check(v.length === inv && v.length > 0 && v.length < all.length && v.every((d) => d.module === 'inventory'),
        `module filter inventory leaves the ${inv} inventory findings`);
  await page.selectOption('#f-module', '');

  await page.fill('#f-text', 'buster');
  v = await visible();
  check(v.length === 1, `text search 'buster' leaves ${v.length}`);
  await page.fill('#f-text', '');

  // Evidence and remediation are there when a finding is opened.
  await page.click('.finding summary');
  const body = await page.textContent('.finding[open] .body');
  check(body.includes('Evidence') && body.includes('Remediation'), 'expanded finding shows evidence and remediation');
  check(errors.length === 0, `no script errors ${errors.join('; ')}`);
  check(external.length === 0, `no network requests ${external.join(', ')}`);
  if (process.env.SCREENSHOT) await page.screenshot({ path: process.env.SCREENSHOT, fullPage: true });
} finally {
  await browser.close();
}
process.exit(failures ? 1 : 0);

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium } from './chromium.js';

test('headless Chromium starts and renders a page', async () => {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.setContent('<p id="x">unforget</p>');
    assert.equal(await page.textContent('#x'), 'unforget');
  } finally {
    await browser.close();
  }
});

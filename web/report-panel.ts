/** The "Compare" panel's report: an HTML report made by `unforget compare`, shown in a sandboxed frame. */
import { OptionError } from '../src/browser.js';
import { showError } from './messages.js';

export function startReportPanel(): void {
  const ui = {
    reportButton: document.getElementById('report-button') as HTMLButtonElement,
    reportFile: document.getElementById('report-file') as HTMLInputElement,
    report: document.getElementById('report') as HTMLIFrameElement,
  };

  ui.reportButton.addEventListener('click', () => ui.reportFile.click());
  ui.reportFile.addEventListener('change', async () => {
    const file = ui.reportFile.files?.[0];
    ui.reportFile.value = '';
    if (!file) return;
    const text = await file.text();
    if (!/<html|<!doctype html/i.test(text.slice(0, 2000))) {
      showError(
        new OptionError(`${file.name} is not an HTML report; pick the .html file unforget compare wrote`),
      );
      return;
    }
    ui.report.srcdoc = text;
    ui.report.hidden = false;
  });
}

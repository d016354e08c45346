/** The page's one message box: errors (role alert) and notes (role status), dismissed by a button. */

const box = document.getElementById('message') as HTMLElement;
const text = document.getElementById('message-text') as HTMLElement;
document.getElementById('message-close')?.addEventListener('click', () => (box.hidden = true));

export function showMessage(message: string, kind: 'error' | 'info' = 'error'): void {
  text.textContent = message;
  box.classList.toggle('info', kind === 'info');
  box.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  box.hidden = false;
}

export function showError(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  showMessage(message.replace(/^unforget: /, ''));
  console.error(error);
}

export function hideMessage(): void {
  box.hidden = true;
}

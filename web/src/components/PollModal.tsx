import { useState } from 'preact/hooks';
import { Icon } from './Icon';
import { Modal } from './Modal';

export interface NewPoll {
  question: string;
  options: string[];
  multiple: boolean;
  closes_at?: string;
}

export function PollModal({ onCreate, onClose }: { onCreate: (p: NewPoll) => void; onClose: () => void }) {
  const [question, setQuestion] = useState('');
  const [options, setOptions] = useState(['', '']);
  const [multiple, setMultiple] = useState(false);
  const [closes, setCloses] = useState('');
  const [error, setError] = useState<string | null>(null);

  const submit = (e: Event) => {
    e.preventDefault();
    const opts = options.map((o) => o.trim()).filter(Boolean);
    if (!question.trim()) return setError('Ask a question.');
    if (opts.length < 2) return setError('Give at least two options.');
    let closes_at: string | undefined;
    if (closes) {
      const d = new Date(closes);
      if (Number.isNaN(d.getTime()) || d.getTime() <= Date.now()) return setError('The closing time must be in the future.');
      closes_at = d.toISOString();
    }
    onCreate({ question: question.trim(), options: opts, multiple, closes_at });
    onClose();
  };

  return (
    <Modal title="Create a poll" onClose={onClose}>
      <form class="form" onSubmit={submit}>
        <label for="poll-q">Question</label>
        <input id="poll-q" required maxLength={300} value={question} onInput={(e) => setQuestion(e.currentTarget.value)} />
        <fieldset class="poll-fields">
          <legend>Options (2–10)</legend>
          {options.map((o, i) => (
            <div class="poll-field" key={i}>
              <input aria-label={`Option ${i + 1}`} maxLength={200} value={o}
                onInput={(e) => { const v = e.currentTarget.value; setOptions((xs) => xs.map((x, j) => (j === i ? v : x))); }} />
              {options.length > 2 && (
                <button type="button" class="icon-btn small" aria-label={`Remove option ${i + 1}`}
                  onClick={() => setOptions((xs) => xs.filter((_, j) => j !== i))}><Icon name="close" size={16} /></button>
              )}
            </div>
          ))}
          {options.length < 10 && (
            <button type="button" class="btn small" onClick={() => setOptions((xs) => [...xs, ''])}>+ Add option</button>
          )}
        </fieldset>
        <label class="check"><input type="checkbox" checked={multiple} onChange={(e) => setMultiple(e.currentTarget.checked)} /> Allow several choices</label>
        <label for="poll-closes">Closes at <span class="optional">(optional)</span></label>
        <input id="poll-closes" type="datetime-local" value={closes} onInput={(e) => setCloses(e.currentTarget.value)} />
        {error && <p class="form-error" role="alert">{error}</p>}
        <div class="modal-actions">
          <button type="button" class="btn" onClick={onClose}>Cancel</button>
          <button type="submit" class="btn primary">Post poll</button>
        </div>
      </form>
    </Modal>
  );
}

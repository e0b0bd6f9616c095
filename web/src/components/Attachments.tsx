// A message's attachments: image thumbnails (full image in a lightbox), audio and video
// players, and a file card with a download link for everything else. The URLs are same
// origin, so the session cookie authenticates <img>, <audio>, <video> and <a download>.
import { useState } from 'preact/hooks';
import type { Attachment } from '../types';
import { extensionOf, humanSize, isExpired } from '../files';
import { fullTime } from '../util';
import { Icon } from './Icon';
import { Modal } from './Modal';

const THUMB_MAX = 320;

export function Attachments({ items, tab }: { items: Attachment[]; tab: number }) {
  if (!items.length) return null;
  return (
    <div class="attachments">
      {items.map((a) => <AttachmentView key={String(a.id)} a={a} tab={tab} />)}
    </div>
  );
}

function fileIcon(a: Attachment): string {
  if (a.category === 'image') return 'image';
  if (a.category === 'audio') return 'music';
  if (a.category === 'video') return 'film';
  return ['zip', 'rar', '7z', 'tar', 'gz'].includes(extensionOf(a.name)) ? 'archive' : 'file';
}

/** Width and height for the inline image, so the layout is reserved before it loads. */
function thumbBox(a: Attachment): { src: string; width?: number; height?: number } {
  if (a.has_thumbnail && a.thumbnail_url) {
    return { src: a.thumbnail_url, width: a.thumbnail_width ?? undefined, height: a.thumbnail_height ?? undefined };
  }
  // No thumbnail: the original, scaled down to the thumbnail box.
  const w = a.width ?? 0;
  const h = a.height ?? 0;
  if (w > 0 && h > 0) {
    const k = Math.min(1, THUMB_MAX / Math.max(w, h));
    return { src: a.download_url, width: Math.max(1, Math.round(w * k)), height: Math.max(1, Math.round(h * k)) };
  }
  return { src: a.download_url };
}

function DownloadLink({ a, tab, text }: { a: Attachment; tab: number; text?: string }) {
  return (
    <a class={text ? 'att-download' : 'att-download icon-only'} href={a.download_url} download={a.name} tabIndex={tab}
      aria-label={`Download ${a.name}`} title={`Download ${a.name}`}>
      <Icon name="download" size={16} />{text && <span aria-hidden="true">{text}</span>}
    </a>
  );
}

function Meta({ a }: { a: Attachment }) {
  const ext = extensionOf(a.name).toUpperCase();
  return (
    <span class="att-meta">
      {humanSize(a.size)}{ext ? ` · ${ext}` : ''}
      {a.expires_at && <> · <span title={fullTime(a.expires_at)}>until {fullTime(a.expires_at)}</span></>}
    </span>
  );
}

function AttachmentView({ a, tab }: { a: Attachment; tab: number }) {
  const [open, setOpen] = useState(false);
  const [broken, setBroken] = useState(false);

  if (isExpired(a)) {
    return (
      <div class="file-card expired" role="group" aria-label={`${a.name}: file expired`}>
        <span class="file-icon" aria-hidden="true"><Icon name="clock" size={20} /></span>
        <span class="file-text">
          <span class="file-name">{a.name}</span>
          <span class="att-meta">File expired</span>
        </span>
      </div>
    );
  }

  if (a.category === 'image' && !broken) {
    const box = thumbBox(a);
    return (
      <figure class="att-image">
        <button type="button" class="att-thumb" tabIndex={tab} aria-label={`Open image ${a.name}`} onClick={() => setOpen(true)}>
          <img src={box.src} width={box.width} height={box.height} alt={a.name} loading="lazy" decoding="async"
            onError={() => setBroken(true)} />
        </button>
        {open && (
          // Esc closes the lightbox only, not the thread or panel behind it.
          <div class="lightbox-host" onKeyDown={(e) => { if (e.key === 'Escape') e.stopPropagation(); }}>
          <Modal title={a.name} wide onClose={() => setOpen(false)}>
            <div class="lightbox">
              <img src={a.download_url} alt={a.name} width={a.width ?? undefined} height={a.height ?? undefined} />
            </div>
            <div class="modal-actions lightbox-actions">
              <Meta a={a} />
              <DownloadLink a={a} tab={0} text="Download" />
            </div>
          </Modal>
          </div>
        )}
      </figure>
    );
  }

  if (a.category === 'audio') {
    return (
      <div class="att-media audio">
        <audio controls preload="none" src={a.download_url} aria-label={`Audio: ${a.name}`} tabIndex={tab} />
        <div class="att-caption">
          <span class="file-name" title={a.name}>{a.name}</span>
          <Meta a={a} />
          <DownloadLink a={a} tab={tab} />
        </div>
      </div>
    );
  }

  if (a.category === 'video') {
    return (
      <div class="att-media video">
        <video controls preload="metadata" src={a.download_url} aria-label={`Video: ${a.name}`} tabIndex={tab} playsInline />
        <div class="att-caption">
          <span class="file-name" title={a.name}>{a.name}</span>
          <Meta a={a} />
          <DownloadLink a={a} tab={tab} />
        </div>
      </div>
    );
  }

  return (
    <div class="file-card" role="group" aria-label={`File: ${a.name}, ${humanSize(a.size)}`}>
      <span class="file-icon" aria-hidden="true"><Icon name={fileIcon(a)} size={20} /></span>
      <span class="file-text">
        <span class="file-name" title={a.name}>{a.name}</span>
        <Meta a={a} />
      </span>
      <DownloadLink a={a} tab={tab} />
    </div>
  );
}

// Shapes of the server's JSON (SPEC §10, docs/realtime.md). Ids are opaque on the wire;
// this server sends numbers.
export type Id = number;

export interface User {
  id: Id;
  username: string;
  display_name: string;
  role: 'user' | 'admin';
}

export type RoomType = 'event' | 'private' | 'group' | 'support' | 'general';
export type ParticipantRole = 'owner' | 'moderator' | 'member';

export interface Room {
  id: Id;
  type: RoomType;
  name: string;
  description: string;
  is_public: boolean;
  allow_files: boolean;
  allow_voice: boolean;
  moderation_enabled: boolean;
  event_id: Id | null;
  created_by: Id | null;
  created_at: string;
  is_direct?: boolean;
  participant_count?: number;
}

export interface RoomListEntry extends Room {
  unread_count: number;
  mention_count: number;
  last_message: Message | null;
  my_role: ParticipantRole;
  direct_with: User | null;
}

export interface Presence {
  status: string;
  custom_message: string | null;
  last_active_at: string | null;
}

export interface Participant {
  user: User;
  role: ParticipantRole;
  joined_at: string;
  muted_until: string | null;
  presence: Presence;
}

export interface Reaction {
  emoji: string;
  count: number;
  me?: boolean;
}

export interface PollOption {
  text: string;
  votes: number;
}

export interface Poll {
  question: string;
  options: PollOption[];
  multiple: boolean;
  closes_at: string | null;
  closed: boolean;
  my_votes?: number[] | null;
}

export type AttachmentCategory = 'image' | 'file' | 'audio' | 'video';

export interface Attachment {
  id: Id;
  name: string;
  mime: string;
  size: number;
  category: AttachmentCategory | string;
  sha256?: string;
  /** Images only; null when unknown. */
  width?: number | null;
  height?: number | null;
  has_thumbnail: boolean;
  thumbnail_width?: number | null;
  thumbnail_height?: number | null;
  /** RFC 3339, or null for files that never expire. */
  expires_at: string | null;
  expired?: boolean;
  download_count: number;
  /** Same origin; the session cookie authenticates it. */
  download_url: string;
  thumbnail_url?: string | null;
}

export type MessageType = 'text' | 'image' | 'file' | 'audio' | 'video' | 'system' | 'poll' | 'event_update';

export interface Message {
  id: Id;
  room_id: Id;
  seq: number;
  sender: User | null;
  type: MessageType;
  content: string | null;
  reply_to: Id | null;
  mentions: User[];
  attachments: Attachment[];
  reactions: Reaction[];
  poll: Poll | null;
  client_id?: string | null;
  created_at: string;
  edited_at: string | null;
  deleted_at: string | null;
}

export interface Notification {
  id: Id;
  kind: string;
  room_id: Id;
  message_id: Id | null;
  actor: User;
  created_at: string;
  read_at: string | null;
}

export interface ApiErrorBody {
  error: { code: string; message: string };
}

export interface OpenedRoom {
  room: Room;
  participants: Participant[];
  messages: Message[];
  has_more: boolean;
  updates?: Message[];
}

export interface ReactionUpdate {
  message_id: Id;
  room_id: Id;
  emoji: string;
  user_id: Id;
  reactions: Reaction[];
}

export interface PollUpdate {
  message_id: Id;
  room_id: Id;
  poll: Poll;
}

export interface ReadState {
  room_id: Id;
  last_read_message_id: Id | null;
  unread_count: number;
  mention_count: number;
}

import { Inject, Injectable } from '@nestjs/common';
import type { Purpose } from '../../events/purposes';
import { streams } from '../../events/streams';
import { LruCache } from '../crypto/lru-cache';
import { EventLog, type RecordedEvent } from '../event-store/event-log';
import { StreamDeletedError, StreamNotFoundError } from '../event-store/event-store.errors';
import { foldArtwork } from './artworks/artwork.state';
import { foldImage } from './images/image.state';

/**
 * What a content read needs to know about an original or an artwork, all of it fixed by the
 * stream's first event (`ImageUploaded` / `ArtworkGenerated`) and never changed afterwards: the
 * owner, the object key, the content type and the purpose the data was collected for.
 */
export interface ViewTarget<C extends string> {
  readonly subjectId: string;
  readonly objectKey: string;
  readonly contentType: C;
  readonly dataPurpose: Purpose;
}

export type ImageViewTarget = ViewTarget<'image/jpeg' | 'image/png' | 'image/heic'>;
export type ArtworkViewTarget = ViewTarget<'image/jpeg' | 'image/png'>;

/** Entries per kind: a few hundred bytes each. */
export const VIEW_TARGET_CACHE_ENTRIES = 20_000;

/**
 * The immutable facts of viewable objects, read from the first event of their stream (one indexed
 * read of one event, however many views the stream has gathered since) and kept in an LRU: a
 * content read costs no store read at all once its object is cached. Facts that never change
 * cannot go stale; whether the object was deleted is not a fact kept here (callers ask the read
 * model, and the object read itself fails once a deletion removed the object).
 */
@Injectable()
export class ViewTargets {
  private readonly images = new LruCache<string, ImageViewTarget>(VIEW_TARGET_CACHE_ENTRIES);
  private readonly artworks = new LruCache<string, ArtworkViewTarget>(VIEW_TARGET_CACHE_ENTRIES);

  constructor(@Inject(EventLog) private readonly log: EventLog) {}

  /** Null when no original was ever uploaded under this id. */
  async image(imageId: string): Promise<ImageViewTarget | null> {
    const cached = this.images.get(imageId);
    if (cached) return cached;
    const first = await this.firstEvent(streams.image(imageId));
    const state = foldImage(first ? [first] : []);
    if (!state.exists || !state.subjectId || !state.objectKey || !state.contentType || !state.purpose) return null;
    const target: ImageViewTarget = { subjectId: state.subjectId, objectKey: state.objectKey, contentType: state.contentType, dataPurpose: state.purpose };
    this.images.set(imageId, target);
    return target;
  }

  /** Null when no artwork was ever generated under this id. */
  async artwork(artworkId: string): Promise<ArtworkViewTarget | null> {
    const cached = this.artworks.get(artworkId);
    if (cached) return cached;
    const first = await this.firstEvent(streams.artwork(artworkId));
    const state = foldArtwork(first ? [first] : []);
    if (!state.exists || !state.subjectId || !state.objectKey || !state.contentType || !state.purpose) return null;
    const target: ArtworkViewTarget = { subjectId: state.subjectId, objectKey: state.objectKey, contentType: state.contentType, dataPurpose: state.purpose };
    this.artworks.set(artworkId, target);
    return target;
  }

  private async firstEvent(stream: string): Promise<RecordedEvent | null> {
    try {
      for await (const stored of this.log.store.readStream(stream, { maxCount: 1 })) return await this.log.decode(stored);
    } catch (error) {
      if (error instanceof StreamNotFoundError || error instanceof StreamDeletedError) return null;
      throw error;
    }
    return null;
  }
}

import { Module } from '@nestjs/common';
import { ConsentModule } from '../consent/consent.module';
import { ArtworksReadModel } from './artworks/artworks.read-model';
import { DeleteArtworkController } from './delete-artwork/delete-artwork.controller';
import { DeleteArtworkHandler } from './delete-artwork/delete-artwork.handler';
import { DeleteImageController } from './delete-image/delete-image.controller';
import { DeleteImageHandler } from './delete-image/delete-image.handler';
import { EncryptedObjects } from './encrypted-objects';
import { GetArtworkController } from './get-artwork/get-artwork.controller';
import { GetImageController } from './get-image/get-image.controller';
import { ImagesReadModel } from './images/images.read-model';
import { ListArtworksController } from './list-artworks/list-artworks.controller';
import { ListImagesController } from './list-images/list-images.controller';
import { ReadArtworkContentController } from './read-artwork-content/read-artwork-content.controller';
import { ReadArtworkContentHandler } from './read-artwork-content/read-artwork-content.handler';
import { ReadImageContentController } from './read-image-content/read-image-content.controller';
import { ReadImageContentHandler } from './read-image-content/read-image-content.handler';
import { RejectBiometricTemplatesInterceptor } from './upload-image/reject-biometric-templates.interceptor';
import { UploadImageController } from './upload-image/upload-image.controller';
import { UploadImageHandler } from './upload-image/upload-image.handler';

/** Originals, jobs and artworks: the facial data itself. */
@Module({
  imports: [ConsentModule],
  controllers: [
    // images and artworks
    UploadImageController,
    ListImagesController,
    GetImageController,
    ReadImageContentController,
    DeleteImageController,
    ListArtworksController,
    GetArtworkController,
    ReadArtworkContentController,
    DeleteArtworkController,
  ],
  providers: [
    EncryptedObjects,
    // images and artworks
    ImagesReadModel,
    ArtworksReadModel,
    RejectBiometricTemplatesInterceptor,
    UploadImageHandler,
    ReadImageContentHandler,
    DeleteImageHandler,
    ReadArtworkContentHandler,
    DeleteArtworkHandler,
  ],
  exports: [EncryptedObjects, ImagesReadModel, ArtworksReadModel],
})
export class FacialDataModule {}

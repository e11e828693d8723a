import { Module } from '@nestjs/common';
import { ConsentModule } from '../consent/consent.module';
import { ArtworksReadModel } from './artworks/artworks.read-model';
import { CancelJobsHandler } from './cancel-jobs/cancel-jobs.handler';
import { GetJobController } from './get-job/get-job.controller';
import { JobsView } from './jobs/jobs.view';
import { ProcessingWorker } from './processing-worker/processing-worker';
import { QueueJobController } from './queue-job/queue-job.controller';
import { QueueJobHandler } from './queue-job/queue-job.handler';
import { TempFilesSaga } from './temp-files/temp-files.saga';
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
import { ViewTargets } from './view-targets';

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
    // jobs
    QueueJobController,
    GetJobController,
  ],
  providers: [
    EncryptedObjects,
    // images and artworks
    ImagesReadModel,
    ArtworksReadModel,
    ViewTargets,
    RejectBiometricTemplatesInterceptor,
    UploadImageHandler,
    ReadImageContentHandler,
    DeleteImageHandler,
    ReadArtworkContentHandler,
    DeleteArtworkHandler,
    // jobs, the processing worker and the temp-file saga
    JobsView,
    QueueJobHandler,
    CancelJobsHandler,
    ProcessingWorker,
    TempFilesSaga,
  ],
  exports: [EncryptedObjects, ImagesReadModel, ArtworksReadModel, JobsView, ProcessingWorker, TempFilesSaga],
})
export class FacialDataModule {}

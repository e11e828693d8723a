import { ApiProperty } from '@nestjs/swagger';

/** What registration and sign-in answer: the subject and a short-lived access token bound to it. */
export class DeviceSession {
  @ApiProperty({ format: 'uuid', description: 'The account (subject) the device is bound to' })
  subjectId!: string;

  @ApiProperty({ description: 'Signed access token (JWT, HS256), bound to the subject; send as `Authorization: Bearer <token>`' })
  accessToken!: string;

  @ApiProperty({ enum: ['Bearer'] })
  tokenType!: 'Bearer';

  @ApiProperty({ description: 'Seconds until the token expires (TOKEN_TTL, default 900)', example: 900 })
  expiresIn!: number;
}

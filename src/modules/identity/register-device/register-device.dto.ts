import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsOptional, IsString, Length } from 'class-validator';

export class RegisterDeviceDto {
  @ApiProperty({
    description: 'The device identifier, the account identifier (1–256 chars). Personal data: stored only encrypted, and as a keyed hash naming the device stream.',
    minLength: 1,
    maxLength: 256,
  })
  @IsString()
  @Length(1, 256)
  deviceId!: string;

  @ApiProperty({ description: 'A secret generated on the device (32–256 chars). Only a slow scrypt hash of it is stored.', minLength: 32, maxLength: 256 })
  @IsString()
  @Length(32, 256)
  deviceSecret!: string;

  @ApiProperty({ description: 'The user confirms being an adult. When false, guardianConsent must be true.' })
  @IsBoolean()
  isAdult!: boolean;

  @ApiPropertyOptional({ description: "For a minor: the guardian's consent (required when isAdult is false)" })
  @IsOptional()
  @IsBoolean()
  guardianConsent?: boolean;
}

import type { Provider } from '@nestjs/common';
import { Clock } from '../clock/clock.port';
import { AppConfig } from '../config/app-config';
import { AppLogger } from '../logging/logger';
import { BusinessCalendar } from './business-calendar/business-calendar';
import { loadHolidayCalendar } from './business-calendar/holiday-calendar';

/**
 * The business calendar of the rights deadlines: HOLIDAYS_FILE (AppConfig.rights.holidaysFile) or
 * the shipped PRC calendar. An invalid file stops the service at boot; a calendar that does not
 * cover the current (or, within a month, the next) year is logged as a warning.
 */
export const businessCalendarProvider: Provider = {
  provide: BusinessCalendar,
  inject: [AppConfig, AppLogger, Clock],
  useFactory: (config: AppConfig, logger: AppLogger, clock: Clock) => {
    const calendar = new BusinessCalendar(loadHolidayCalendar(config.rights.holidaysFile));
    const warning = calendar.coverageWarning(clock.now());
    if (warning) logger.root.warn({ component: 'subject-rights' }, warning);
    return calendar;
  },
};
